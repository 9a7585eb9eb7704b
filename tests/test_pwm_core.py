"""PWM's policy-learning core against direct computations: actor-loss gradient paths, the return
normalisation, TD(lambda) and one-step critic targets, the critic ensemble, the lr schedule."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from baselines.shac import td_lambda_targets as shac_td_lambda
from pwm.actor_critic import Actor, CriticEnsemble
from pwm.agent import load_hparams
from pwm.policy_learning import PolicyLearner, imagine, linear_lr, one_step_targets, td_lambda_targets
from pwm.running_stats import RunningMeanStd
from pwm.world_model import WorldModel, WorldModelConfig

H, B = 4, 8
SMALL = {
    "horizon": H,
    "batch_size": B,
    "actor_hidden": [16, 8],
    "critic_hidden": [16, 8],
    "num_critics": 3,
    "critic_iterations": 2,
    "critic_batches": 2,
}


def tiny_world_model(num_tasks=0, seed=0) -> WorldModel:
    torch.manual_seed(seed)
    cfg = WorldModelConfig(
        obs_dim=5,
        action_dim=2,
        latent_dim=16,
        enc_dim=24,
        mlp_dim=24,
        num_q=2,
        task_dim=8 if num_tasks else 0,
        num_tasks=num_tasks,
    )
    wm = WorldModel(cfg)
    with torch.no_grad():  # the reward head starts at zero; give it a slope so rewards depend on (z, a)
        wm._reward[-1].weight.normal_(0, 0.5)
    return wm


def learner(wm, multitask=False, **overrides):
    cfg = load_hparams({**SMALL, **overrides})
    return PolicyLearner(wm, cfg, wm.cfg.action_dim, multitask=multitask)


def member_value(critic: CriticEnsemble, z, k):
    """Member k of the ensemble written as the reference's CriticMLP: Linear -> Mish -> LN per layer."""
    h = z
    last = len(critic.weights) - 1
    for i, (w, b) in enumerate(zip(critic.weights, critic.biases)):
        h = h @ w[k].T + b[k]
        if i < last:
            h = F.layer_norm(F.mish(h), h.shape[-1:], critic.ln_weights[i][k], critic.ln_biases[i][k])
    return h[..., 0]


def direct_actor_loss(wm, actor, critic, z0, horizon, gamma, detach=True):
    """The reference's actor loss written out (no ret_rms: divided by H), symlog-scale rewards."""
    centres = torch.linspace(-10, 10, 101)
    z, ret = z0, 0.0
    for t in range(horizon):
        zin = z.detach() if detach else z
        mu = actor.mu(zin)
        a = torch.tanh(mu + actor.logstd.exp() * torch.randn_like(mu))
        r = torch.softmax(wm.reward(z, a), -1) @ centres
        ret = ret + gamma**t * r
        z = wm.next(z, a)
    v = torch.stack([member_value(critic, z, k) for k in range(critic.members)]).min(0).values
    return (-(ret + gamma ** (horizon + 1) * v) / horizon).mean()


def test_actor_gradient_flows_only_through_dynamics_and_reward():
    wm = tiny_world_model()
    pl = learner(wm, ret_rms=False, actor_grad_norm=1e9)
    z0 = wm.encode(torch.randn(B, 5)).detach()
    actor = copy.deepcopy(pl.actor)  # the actor before the step, for the direct computation

    torch.manual_seed(7)
    rollout, _ = pl.actor_step(z0, None)
    grads = {n: p.grad.clone() for n, p in pl.actor.named_parameters()}
    # The frozen world model and critics received no gradient at all (not even zeros) ...
    assert all(p.grad is None for p in wm.parameters())
    assert all(p.grad is None for p in pl.critic.parameters())
    # ... and are trainable again afterwards.
    assert all(p.requires_grad for p in pl.critic.parameters())

    actor.zero_grad()
    torch.manual_seed(7)
    loss = direct_actor_loss(wm, actor, pl.critic, z0, H, 0.99)
    loss.backward()
    assert float(rollout.loss.detach()) == pytest.approx(float(loss.detach()), rel=1e-5)
    for n, p in actor.named_parameters():
        torch.testing.assert_close(grads[n], p.grad, rtol=1e-4, atol=1e-7)
        assert p.grad.abs().sum() > 0

    # Not detaching the actor's input changes the gradient: the test can tell the two apart.
    actor.zero_grad()
    torch.manual_seed(7)
    direct_actor_loss(wm, actor, pl.critic, z0, H, 0.99, detach=False).backward()
    assert not torch.allclose(grads["mu.0.weight"], actor.mu[0].weight.grad, rtol=1e-3)


def test_without_reward_and_value_signal_the_actor_gets_no_gradient():
    """No entropy or log-prob term: with a constant reward and critic the gradient is exactly 0."""
    wm = tiny_world_model()
    with torch.no_grad():
        wm._reward[-1].weight.zero_()
    pl = learner(wm)
    with torch.no_grad():
        pl.critic.weights[-1].zero_()
    pl.actor_step(wm.encode(torch.randn(B, 5)).detach(), None)
    assert all(float(p.grad.abs().max()) == 0.0 for p in pl.actor.parameters())


def test_return_normalisation_divides_by_the_running_std():
    wm = tiny_world_model()
    pl = learner(wm)
    z0 = wm.encode(torch.randn(B, 5)).detach()
    seen = []
    for _ in range(3):
        r = imagine(wm, pl.actor, pl.critic, z0, None, H, 0.99, ret_rms=pl.ret_rms)
        seen.append(r.raw_loss.double().numpy())
        # the running statistics, with the reference's prior (count 1e-4, mean 0, var 1), computed directly
        x = np.concatenate(seen)
        n0 = 1e-4
        mean = x.sum() / (n0 + len(x))
        var = (n0 * (1 + mean**2) + ((x - mean) ** 2).sum()) / (n0 + len(x))
        assert float(pl.ret_rms.var) == pytest.approx(var, rel=1e-6)
        assert float(r.loss.detach()) == pytest.approx(x[-B:].mean() / math.sqrt(var + 1e-5), rel=1e-5)


def test_running_mean_std_matches_numpy_and_ignores_non_finite():
    rms = RunningMeanStd((3,))
    data = np.random.default_rng(0).normal(2.0, 3.0, size=(1000, 3))
    for part in np.array_split(data, 7):
        rms.update(torch.tensor(part))
    rms.update(torch.tensor([[np.nan, 1.0, 1.0]]))
    np.testing.assert_allclose(rms.mean.numpy(), data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(rms.var.numpy(), data.var(0), rtol=1e-4)


def lambda_return_by_definition(r, v, d, gamma, lam):
    """G^λ_t = (1-λ) Σ_{n<N} λ^{n-1} G^(n)_t + λ^{N-1} G^(N)_t, N = steps to the segment's end."""
    T, Bn = r.shape
    out = np.zeros((T, Bn))
    for b in range(Bn):
        for t in range(T):
            end = next(k for k in range(t, T) if d[k, b] or k == T - 1)
            N = end - t + 1
            nstep = [
                sum(gamma**k * r[t + k, b] for k in range(n)) + gamma**n * v[t + n - 1, b] for n in range(1, N + 1)
            ]
            out[t, b] = (1 - lam) * sum(lam ** (n - 1) * nstep[n - 1] for n in range(1, N)) + lam ** (N - 1) * nstep[-1]
    return out


def test_td_lambda_targets_equal_the_lambda_return_definition_and_shacs_recursion():
    g = torch.Generator().manual_seed(3)
    r, v = torch.randn(16, 6, generator=g, dtype=torch.float64), torch.randn(16, 6, generator=g, dtype=torch.float64)
    d = (torch.rand(16, 6, generator=g) < 0.15).double()
    got = td_lambda_targets(r, v, d, 0.99, 0.95)
    np.testing.assert_allclose(
        got.numpy(), lambda_return_by_definition(r.numpy(), v.numpy(), d.numpy(), 0.99, 0.95), rtol=1e-10
    )
    d_end = d.clone()
    d_end[-1] = 1.0  # DiffRL's A/B recursion needs the last row marked done
    torch.testing.assert_close(got, shac_td_lambda(r, v, d_end, 0.99, 0.95).to(got.dtype))
    # lambda = 0 is one-step TD, which is also what all-ones dones give (the multitask reference)
    torch.testing.assert_close(td_lambda_targets(r, v, torch.ones_like(d), 0.99, 0.95), one_step_targets(r, v, 0.99))
    torch.testing.assert_close(td_lambda_targets(r, v, d, 0.99, 0.0), r + 0.99 * v)


def test_critic_target_setting_defaults_follow_the_reference():
    wm = tiny_world_model()
    assert learner(wm, multitask=True).critic_target == "one_step"
    assert learner(wm, multitask=False).critic_target == "td_lambda"
    assert learner(wm, multitask=True, critic_target="td_lambda").critic_target == "td_lambda"


def test_critic_ensemble_is_three_reference_critics_and_fitting_reduces_the_loss():
    torch.manual_seed(0)
    critic = CriticEnsemble(16, [32, 16], members=3)
    z = torch.randn(2, 5, 16)
    values = critic(z)
    assert values.shape == (3, 2, 5)
    for k in range(3):
        torch.testing.assert_close(values[k], member_value(critic, z, k), rtol=1e-5, atol=1e-6)
        w = critic.weights[0][k]  # orthogonal init, gain sqrt(2)
        torch.testing.assert_close(w.T @ w, 2.0 * torch.eye(16), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(critic.min_value(z), values.min(0).values)

    wm = tiny_world_model()
    pl = learner(wm, critic_iterations=20)
    latents = torch.softmax(torch.randn(H, B, 16), -1)
    targets = torch.randn(H, B)
    before = float((pl.critic(latents) - targets).pow(2).mean())
    loss, _ = pl.fit_critic(latents, targets)
    assert float((pl.critic(latents) - targets).pow(2).mean()) < 0.5 * before
    assert all(p.grad is not None for p in pl.critic.parameters())


def test_actor_logstd_floor_and_deterministic_action():
    torch.manual_seed(0)
    actor = Actor(16, 3, [8], logstd_init=-1.0, logstd_min=-1.427)
    with torch.no_grad():
        actor.logstd.fill_(-5.0)
    z = torch.randn(4, 16)
    actor(z)
    torch.testing.assert_close(actor.logstd.detach(), torch.full((3,), -1.427))
    torch.testing.assert_close(actor(z, deterministic=True), torch.tanh(actor.mu(z)))
    assert actor(z).abs().max() < 1


def test_act_in_inference_mode_equals_the_graph_path_and_keeps_the_task_embedding_trainable():
    """act() runs under inference_mode (issue 18); the task embedding's in-place max-norm renorm
    still happens, and the renormalised weight still trains afterwards."""
    wm = tiny_world_model(num_tasks=3)
    pl = learner(wm, multitask=True)
    with torch.no_grad():
        wm._task_emb.weight[1].fill_(1.0)  # norm sqrt(8) > 1: the lookup renormalises it in place
    obs = torch.randn(4, 5)
    action = pl.act(obs, 1)
    assert float(wm._task_emb.weight[1].norm()) == pytest.approx(1.0, abs=1e-5)
    torch.testing.assert_close(action, torch.tanh(pl.actor.mu(wm.encode(obs, 1))).detach())
    loss = wm.encode(obs, 1).pow(2).sum()
    loss.backward()
    assert wm._task_emb.weight.grad is not None and float(wm._task_emb.weight.grad[1].abs().sum()) > 0


def test_learning_rates_decay_linearly_to_the_floor():
    assert linear_lr(5e-4, 1e-5, 0, 100) == 5e-4
    assert linear_lr(5e-4, 1e-5, 50, 100) == pytest.approx(2.55e-4)
    assert linear_lr(5e-4, 1e-5, 100, 100) == pytest.approx(1e-5)
    assert linear_lr(5e-4, 1e-5, 150, 100) == pytest.approx(1e-5)
    pl = learner(tiny_world_model(), actor_lr=1e-3, critic_lr=2e-3)
    z0 = pl.wm.encode(torch.randn(B, 5)).detach()
    seen = []
    for _ in range(4):
        info = pl.update(z0, None, total_iterations=4)
        seen.append((info["actor_lr"], pl.critic_opt.param_groups[0]["lr"]))
    expected = [(1e-3 + (1e-5 - 1e-3) * i / 4, 2e-3 + (1e-5 - 2e-3) * i / 4) for i in range(4)]
    np.testing.assert_allclose(seen, expected, rtol=1e-12)
    assert pl.actor_opt.param_groups[0]["betas"] == (0.7, 0.95)
    assert pl.critic_opt.param_groups[0]["betas"] == (0.7, 0.95)


def test_terminal_discount_and_reward_decoding_settings():
    """gamma^(H+offset) at the horizon; reward_symexp decodes with TD-MPC2's two_hot_inv."""
    from pwm import math as wm_math

    wm = tiny_world_model()
    pl = learner(wm, ret_rms=False)
    z0 = wm.encode(torch.randn(B, 5)).detach()
    losses = {}
    for offset in (0, 1):
        torch.manual_seed(1)
        r = imagine(wm, pl.actor, pl.critic, z0, None, H, 0.9, terminal_discount_offset=offset)
        losses[offset] = r.raw_loss
        disc = torch.tensor([0.9**t for t in range(H)])
        ret = (disc[:, None] * r.rewards).sum(0)
        torch.testing.assert_close(r.raw_loss, -(ret + 0.9 ** (H + offset) * r.next_values[-1]))
    torch.manual_seed(1)
    r = imagine(wm, pl.actor, pl.critic, z0, None, H, 0.9, reward_symexp=True)
    torch.manual_seed(1)
    a = pl.actor(z0)
    torch.testing.assert_close(r.rewards[0], wm_math.two_hot_inv(wm.reward(z0, a))[..., 0].detach())


def test_nan_actor_gradient_raises_in_multitask_and_is_zeroed_single_task():
    from pwm.run import DivergedError

    wm = tiny_world_model()
    z0 = wm.encode(torch.randn(B, 5)).detach()
    for multitask in (True, False):
        pl = learner(wm, multitask=multitask)
        with torch.no_grad():
            pl.actor.mu[0].weight[0, 0] = float("nan")
        if multitask:
            with pytest.raises(DivergedError):
                pl.actor_step(z0, None)
        else:
            pl.actor_step(z0, None)
            assert all(torch.isfinite(p.grad).all() for p in pl.actor.parameters())

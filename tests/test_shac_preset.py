"""SHAC's ``preset`` hyperparameter: ``diffrl`` (default) and ``pwm`` (the PWM repository's SHAC,
imgeorgiev/PWM src/pwm/algorithms/shac.py + scripts/cfg/alg/shac.yaml + scripts/cfg/env/dflex_*.yaml).

Networks, the min over the critic ensemble (by hand), no target critic, the ±5 observation clip,
ret_rms, short runs and resume of both presets. Real physics (cartpole), tiny sizes."""

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from baselines import shac
from baselines.shac import SHAC, config_for
from pwm.run import Run, RunSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {
    "num_envs": 8,
    "horizon": 16,
    "critic_iterations": 2,
    "dataset_envs": 4,
    "dataset_segment": 8,
    "progress_every": 1,
}
PWM = {"preset": "pwm", **TINY}


def test_pwm_preset_config_follows_the_pwm_repository():
    # num_envs: scripts/cfg/env/dflex_*.yaml config.num_envs (ant 128, cartpole 1024, others 64)
    expected_envs = {
        "hopper": 64,
        "ant": 128,
        "quadruped": 64,
        "humanoid": 64,
        "muscle-legs": 64,
        "cartpole": 1024,
        "cheetah": 64,
    }
    for task, num_envs in expected_envs.items():
        cfg = config_for(task, {"preset": "pwm"})
        assert cfg["preset"] == "pwm" and cfg["num_envs"] == num_envs
        assert cfg["actor_hidden"] == [400, 200, 100] and cfg["critic_hidden"] == [400, 200]
        assert cfg["actor_lr"] == 2e-3 and cfg["critic_lr"] == 5e-4
        assert cfg["num_critics"] == 3 and cfg["obs_clip"] == 5.0 and cfg["ret_rms"] is True
        assert cfg["critic_grad_norm"] == 100.0 and cfg["grad_norm"] == 1.0 and cfg["min_logstd"] == -10.0
        assert cfg["horizon"] == 32 and cfg["critic_iterations"] == 16 and cfg["num_batch"] == 4
        assert "target_alpha" not in cfg
    # no target critic in the pwm preset, so its Polyak rate is not a hyperparameter there
    with pytest.raises(ValueError, match="unknown SHAC hyperparameters.*target_alpha"):
        config_for("hopper", {"preset": "pwm", "target_alpha": 0.2})
    # the default is diffrl, and its values did not move
    default = config_for("hopper", {})
    assert default == config_for("hopper", {"preset": "diffrl"})
    assert default["preset"] == "diffrl" and default["num_envs"] == 256 and default["critic_lr"] == 2e-4
    assert default["target_alpha"] == 0.2 and default["obs_clip"] is None and default["ret_rms"] is False
    assert default["critic_grad_norm"] == default["grad_norm"] == 1.0


def test_unknown_preset_names_the_value_and_the_allowed_ones():
    with pytest.raises(ValueError) as err:
        config_for("hopper", {"preset": "shac-v2"})
    message = str(err.value)
    assert "'shac-v2'" in message and "'diffrl'" in message and "'pwm'" in message


def linear_sizes(seq: nn.Sequential) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in seq if isinstance(m, nn.Linear)]


def hand_critic_member(critic, k: int, x: torch.Tensor) -> torch.Tensor:
    """Member k of the ensemble, written out: Linear -> Mish -> LayerNorm (affine) hidden layers."""
    h = x
    last = len(critic.weights) - 1
    for i in range(last + 1):
        h = h @ critic.weights[i][k].T + critic.biases[i][k]
        if i < last:
            h = F.mish(h)
            mean, var = h.mean(-1, keepdim=True), h.var(-1, unbiased=False, keepdim=True)
            h = (h - mean) / torch.sqrt(var + 1e-5) * critic.ln_weights[i][k] + critic.ln_biases[i][k]
    return h.squeeze(-1)


def test_pwm_preset_networks_ensemble_min_and_no_target_critic():
    agent = SHAC("cartpole", config_for("cartpole", PWM), seed=0, threads=1)
    obs_dim, act_dim = agent.env.obs_dim, agent.env.act_dim
    # actor: Linear -> Mish -> LayerNorm x3, linear head (alg/shac.yaml units [400, 200, 100], nn.Mish)
    assert linear_sizes(agent.actor.mu) == [(obs_dim, 400), (400, 200), (200, 100), (100, act_dim)]
    kinds = [type(m).__name__ for m in agent.actor.mu]
    assert kinds == ["Linear", "Mish", "LayerNorm"] * 3 + ["Linear"]
    assert [m.normalized_shape for m in agent.actor.mu if isinstance(m, nn.LayerNorm)] == [(400,), (200,), (100,)]
    assert torch.equal(agent.actor.logstd.detach(), torch.full((act_dim,), -1.0))
    # critic: 3 members of [obs] -> 400 -> 200 -> 1 with a LayerNorm after each hidden Mish
    critic = agent.critic
    assert critic.members == 3
    assert [tuple(w.shape) for w in critic.weights] == [(3, 400, obs_dim), (3, 200, 400), (3, 1, 200)]
    assert [tuple(w.shape) for w in critic.ln_weights] == [(3, 400), (3, 200)]
    assert not torch.equal(critic.weights[0][0], critic.weights[0][1])  # independently initialised
    # no target critic: none exists, none is checkpointed, values come from the live critic
    assert agent.target_critic is None
    assert set(agent.modules()) == {"actor", "critic"}
    assert "target_critic" not in agent.state_dict()
    # the value is the min over the members, checked against a hand computation
    x = torch.randn(64, obs_dim) * 2
    with torch.no_grad():
        members = torch.stack([hand_critic_member(critic, k, x) for k in range(3)])
        value = agent.value(x)
    torch.testing.assert_close(critic(x).detach(), members, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(value, members.min(0).values, rtol=1e-5, atol=1e-5)
    assert len(set(members.argmin(0).tolist())) > 1  # the min picks different members: not just member 0
    # the live critic moves the value at once (a target copy would lag)
    with torch.no_grad():
        critic.biases[-1].add_(1.0)
    torch.testing.assert_close(agent.value(x).detach(), value + 1.0, rtol=1e-5, atol=1e-5)


def test_diffrl_preset_keeps_elu_networks_and_a_target_critic():
    agent = SHAC("cartpole", config_for("cartpole", TINY), seed=0, threads=1)
    assert [type(m).__name__ for m in agent.actor.mu] == ["Linear", "ELU", "LayerNorm"] * 2 + ["Linear"]
    assert agent.target_critic is not None and agent.ret_rms is None
    assert {"actor", "critic", "target_critic"} <= set(agent.state_dict())
    x = torch.randn(4, agent.env.obs_dim)
    torch.testing.assert_close(agent.value(x), agent.target_critic(x))


def test_pwm_preset_clips_normalised_observations_at_5():
    agent = SHAC("cartpole", config_for("cartpole", PWM), seed=0, threads=1)
    diffrl = SHAC("cartpole", config_for("cartpole", TINY), seed=0, threads=1)
    obs = torch.tensor([[100.0, -100.0, 3.0, -4.0, 0.5]])
    for a in (agent, diffrl):
        a.obs_rms.mean.zero_()
        a.obs_rms.var.fill_(1.0 - 1e-5)  # std exactly 1
    clipped = agent.normalize(agent.obs_rms, obs)
    torch.testing.assert_close(clipped, torch.tensor([[5.0, -5.0, 3.0, -4.0, 0.5]]))
    torch.testing.assert_close(diffrl.normalize(diffrl.obs_rms, obs), obs)  # diffrl: no clip
    # evaluation acts on the clipped observation too
    with torch.no_grad():
        expected = torch.tanh(agent.actor(clipped, deterministic=True))[0].numpy()
    assert agent.act(obs[0].numpy()) == pytest.approx(expected, abs=1e-6)
    # and so does training: a fresh normaliser sees a tiny-variance stream, the buffers stay in ±5
    agent.obs_rms.var.fill_(1e-8)
    agent.obs_rms.mean.fill_(1.0)
    _, obs_buf, *_ = agent._actor_loss()
    assert obs_buf.abs().max() <= 5.0 and (obs_buf.abs() == 5.0).any()


def test_pwm_preset_divides_the_actor_loss_by_the_running_return_std():
    agent = SHAC("cartpole", config_for("cartpole", PWM), seed=0, threads=1)
    seen = []
    update = agent.ret_rms.update

    def record(x):
        seen.append(x.detach().clone())
        update(x)

    agent.ret_rms.update = record
    loss, *_ = agent._actor_loss()
    (per_env,) = seen
    assert per_env.shape == (8,)
    assert float(agent.ret_rms.count) == pytest.approx(1e-4 + 8)
    expected = (per_env / torch.sqrt(agent.ret_rms.var.float() + 1e-5)).mean()
    torch.testing.assert_close(loss.detach(), expected)
    # the critic's weights get no gradient from the actor loss; the actor's do
    loss.backward()
    assert all(p.grad is None for p in agent.critic.parameters())
    assert agent.actor.mu[0].weight.grad is not None


def test_pwm_state_round_trip_continues_identically():
    cfg = config_for("cartpole", PWM)
    a = SHAC("cartpole", cfg, seed=0, threads=1)
    a.iterate(10)
    state = a.state_dict()
    assert state["preset"] == "pwm" and "ret_rms" in state
    a.iterate(10)
    b = SHAC("cartpole", cfg, seed=99, threads=1)
    b.load_state_dict(state)
    b.iterate(10)
    for pa, pb in zip([*a.actor.parameters(), *a.critic.parameters()], [*b.actor.parameters(), *b.critic.parameters()]):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    torch.testing.assert_close(a.ret_rms.var, b.ret_rms.var, rtol=0, atol=0)
    # a checkpoint of the other preset is refused with both names
    diffrl = SHAC("cartpole", config_for("cartpole", TINY), seed=0, threads=1)
    with pytest.raises(ValueError, match="preset 'pwm'.*'diffrl'"):
        diffrl.load_state_dict(state)


@pytest.mark.parametrize("preset", ["diffrl", "pwm"])
def test_short_run_of_each_preset_trains_evaluates_and_resumes(tmp_path, capsys, preset):
    out = tmp_path / preset
    hparams = {**TINY, "preset": preset}

    def settings(steps):
        return RunSettings(
            algo="shac",
            task="cartpole",
            seed=0,
            out_dir=str(out),
            steps=steps,
            eval_every=256,
            eval_episodes=1,
            threads=1,
            hparams=dict(hparams),
        )

    shac.train(Run(settings(256)))  # 2 iterations of 8 envs x 16 steps
    assert (out / "checkpoint.pt").exists() and (out / "rollouts.pt").exists()
    assert pd.read_csv(out / "eval.csv")["step"].tolist() == [0, 256]
    capsys.readouterr()
    (out / "eval.csv").unlink()
    shac.train(Run(settings(384)))
    log = capsys.readouterr().out
    assert "resuming from" in log and "iteration 3/3" in log and "iteration 1/3" not in log
    assert f"'preset': '{preset}'" in log
    rows = pd.read_csv(out / "eval.csv")
    assert rows["step"].tolist() == [0, 256, 384] and rows["episode_reward"].notna().all()

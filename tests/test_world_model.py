"""The world model reproduces TD-MPC2's reference outputs and keeps TD-MPC2's architecture rules."""

import pytest
import torch
import torch.nn.functional as F

from pwm import math
from pwm.checkpoint import load_tdmpc2
from pwm.nn import SMALL_MISH, SMALL_SIMNORM, NormedLinear, SimNorm, StackedMLP, _MishFunction, mish
from pwm.world_model import MODEL_SIZES, WorldModel, WorldModelConfig

REFERENCE_MODELS = ["walker-walk-size1", "mt30-size1", "walker-walk-size1-legacy", "mt30-size1-legacy"]


@pytest.mark.parametrize("name", REFERENCE_MODELS)
def test_reproduces_reference_outputs(reference_dir, name):
    model = load_tdmpc2(reference_dir / "tdmpc2" / f"{name}.pt").eval()
    io = torch.load(reference_dir / "tdmpc2" / f"{name.replace('-legacy', '')}-io.pt", weights_only=False)
    obs, action, task = io["obs"], io["action"], io["task"]
    with torch.no_grad():
        z = model.encode(obs, task)
        reward_logits = model.reward(z, action, task)
        mean, log_std = model.pi_dist(z, task)
        q_logits = model.Q(z, action, task, "all")
        got = dict(
            z=z,
            z_next=model.next(z, action, task),
            reward_logits=reward_logits,
            reward=math.two_hot_inv(reward_logits),
            pi_mean_pre_tanh=mean,
            pi_log_std=log_std,
            q_logits=q_logits,
            q_target_logits=model.Q(z, action, task, "all", target=True),
            q=math.two_hot_inv(q_logits),
        )
    for key, value in got.items():
        assert value.shape == io[key].shape, key
        torch.testing.assert_close(value, io[key], atol=1e-5, rtol=0, msg=lambda m, key=key: f"{key}: {m}")


def perturbed(model):
    """Fresh models have zero reward/Q heads; perturb all weights so no output is trivially constant."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model._target_Qs_params.buffers()):
            t.add_(torch.randn_like(t) * 0.1)
    return model


def small_cfg(**kw):
    base = dict(obs_dim=7, action_dim=3, latent_dim=16, enc_dim=32, mlp_dim=24, num_q=4)
    base.update(kw)
    return WorldModelConfig(**base)


def test_learnable_parameter_counts_match_tdmpc2():
    """Counts TD-MPC2 reports for its named sizes (docs/reference-notes.md §7.1), built on the meta device."""
    expected = {
        ("mt30", 1): 1_426_427,
        ("mt80", 1): 1_435_067,
        ("mt30", 5): 5_241_066,
        ("mt80", 5): 5_389_930,
        ("mt30", 19): 16_031_210,
        ("mt80", 19): 18_970_218,
        ("mt30", 48): 48_242_410,
        ("mt80", 48): 48_791_146,
        ("mt30", 317): 317_316_889,
        ("mt80", 317): 317_383_129,
    }
    for (task_set, size), count in expected.items():
        obs = 24 if task_set == "mt30" else 39
        with torch.device("meta"):
            model = WorldModel(WorldModelConfig.for_model_size(size, obs, 6, task_set=task_set))
        assert model.total_params == count, (task_set, size)
    # single-task models have no task embedding (T = 0); dog-run's public 5M checkpoint size
    with torch.device("meta"):
        assert WorldModel(WorldModelConfig.for_model_size(5, 223, 38)).total_params == 5_159_082


def test_task_dim_and_latent_rules():
    assert WorldModelConfig.for_model_size(5, 24, 6, task_set="mt30").task_dim == 64
    assert WorldModelConfig.for_model_size(5, 39, 6, task_set="mt80").task_dim == 96
    assert WorldModelConfig.for_model_size(1, 24, 6, task_set="mt30").task_dim == 96
    assert WorldModelConfig.for_model_size(19, 24, 6, task_set="mt30").latent_dim == 512
    assert WorldModelConfig.for_model_size(19, 39, 6, task_set="mt80").latent_dim == 768
    assert WorldModelConfig.for_model_size(48, 24, 6).task_dim == 0
    assert MODEL_SIZES[317]["num_q"] == 8 and MODEL_SIZES[1]["num_q"] == 2
    with pytest.raises(ValueError, match="model_size 7"):
        WorldModelConfig.for_model_size(7, 24, 6)


def test_layers_follow_tdmpc2_definitions():
    x = torch.randn(5, 32)
    out = SimNorm(8)(x)
    torch.testing.assert_close(out.view(5, 4, 8).sum(-1), torch.ones(5, 4))
    layer = NormedLinear(32, 16)
    assert sorted(n for n, _ in layer.named_parameters()) == ["bias", "ln.bias", "ln.weight", "weight"]
    torch.testing.assert_close(
        layer(x), F.mish(F.layer_norm(F.linear(x, layer.weight, layer.bias), (16,), layer.ln.weight, layer.ln.bias))
    )


def test_fast_mish_equals_torch_mish_and_keeps_its_gradient():
    x = torch.cat([torch.linspace(-60, 60, 20001), torch.tensor([0.0, 19.99, 20.0, 20.01, 1e4, -1e4])])
    with torch.no_grad():
        torch.testing.assert_close(mish(x.clone()), F.mish(x), rtol=2e-6, atol=1e-6)
    xg = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(mish(xg).sum(), xg)
    (expected,) = torch.autograd.grad(F.mish(xg).sum(), xg)
    torch.testing.assert_close(grad, expected)
    x64 = torch.linspace(-30, 30, 61, dtype=torch.float64).add(0.05).requires_grad_()
    assert torch.autograd.gradcheck(_MishFunction.apply, (x64,))  # the large path's written-out backward
    x_before = x.clone()
    mish(x)
    assert torch.equal(x, x_before), "the fast path must not modify its input"


@pytest.mark.parametrize("n", [16, SMALL_SIMNORM, SMALL_SIMNORM + 16, SMALL_MISH, SMALL_MISH + 16, 4 * SMALL_MISH])
def test_mish_and_simnorm_agree_with_aten_on_both_sides_of_their_small_size_switch(n):
    """Small tensors take ATen's single kernel, large ones the closed forms: same values and
    gradients either way, with and without autograd (issue 18's batch-1 action)."""
    torch.manual_seed(n)
    x = torch.randn(2, n // 2) * 6
    with torch.inference_mode():
        torch.testing.assert_close(mish(x), F.mish(x), rtol=2e-6, atol=1e-6)
        expected = F.softmax(x.view(2, -1, 8), dim=-1).view(2, -1)
        torch.testing.assert_close(SimNorm(8)(x), expected, rtol=1e-5, atol=1e-7)
    xg = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(mish(xg).pow(2).sum(), xg)
    (expected_grad,) = torch.autograd.grad(F.mish(xg).pow(2).sum(), xg)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-6)
    (grad,) = torch.autograd.grad(SimNorm(8)(xg).pow(2).sum(), xg)
    (expected_grad,) = torch.autograd.grad(F.softmax(xg.view(2, -1, 8), dim=-1).pow(2).sum(), xg)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-5, atol=1e-6)
    assert SMALL_SIMNORM < SMALL_MISH  # so the parametrisation crosses both switches


@pytest.mark.parametrize("latent_norm", ["simnorm", "layernorm", "none"])
def test_the_action_path_without_module_calls_equals_the_modules(latent_norm):
    """encode_for_action / Actor.mean_action (run_layers: functional ops, no Module.__call__) give
    the module path's values, single-task and multitask, and a training-mode dropout is honoured."""
    from pwm.actor_critic import Actor

    torch.manual_seed(0)
    for num_tasks in (0, 3):
        cfg = WorldModelConfig(obs_dim=7, action_dim=2, latent_dim=32, enc_dim=16, mlp_dim=16, num_q=2,
                               task_dim=4 if num_tasks else 0, num_tasks=num_tasks, latent_norm=latent_norm)  # fmt: skip
        wm = WorldModel(cfg).eval()
        actor = Actor(32, 2, [24, 12])
        obs, task = torch.randn(5, 7), (1 if num_tasks else None)
        with torch.inference_mode():
            z = wm.encode_for_action(obs, task)
            torch.testing.assert_close(z, wm.encode(obs, task), rtol=0, atol=0)
            torch.testing.assert_close(actor.mean_action(z), actor(z, deterministic=True), rtol=0, atol=0)
            # one row (the deployed action) runs as a vector through addmv: equal within float tolerance
            z1 = wm.encode_for_action(obs[:1], task)
            assert z1.shape == (1, 32)
            torch.testing.assert_close(z1, wm.encode(obs[:1], task))
            torch.testing.assert_close(actor.mean_action(z1), actor(z1, deterministic=True))
    wm = WorldModel(WorldModelConfig(obs_dim=7, action_dim=2, latent_dim=32, enc_dim=16, mlp_dim=16, dropout=0.5))
    wm._encoder["state"][0].dropout = torch.nn.Dropout(0.5)
    wm.train()
    with torch.no_grad():
        torch.manual_seed(1)
        dropped = wm.encode_for_action(torch.ones(64, 7))
        torch.manual_seed(1)
        torch.testing.assert_close(dropped, wm.encode(torch.ones(64, 7)))
        assert not torch.allclose(dropped, wm.eval().encode(torch.ones(64, 7)))
        wm.train()
        torch.manual_seed(2)  # one row: the dropout layer is still called as a module, with its batch dimension
        row = wm.encode_for_action(torch.ones(1, 7))
        torch.manual_seed(2)
        torch.testing.assert_close(row, wm.encode(torch.ones(1, 7)))


def test_vectorised_ensemble_equals_member_by_member():
    torch.manual_seed(0)
    ens = StackedMLP(4, 10, [12, 12], 5)
    ens.reset_parameters()  # the constructor allocates with torch.empty; owners initialise
    with torch.no_grad():
        for p in ens.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    x = torch.randn(3, 6, 10)
    out = ens(x)
    assert out.shape == (4, 3, 6, 5)
    for q in range(4):
        h = x
        for i, layer in enumerate(ens.layers()):
            h = F.linear(h, layer.weight[q], layer.bias[q])
            if i < 2:
                h = F.mish(F.layer_norm(h, (12,), layer.ln.weight[q], layer.ln.bias[q]))
        torch.testing.assert_close(out[q], h, atol=1e-6, rtol=1e-5)


def test_q_views_route_gradients():
    torch.manual_seed(0)
    model = perturbed(WorldModel(small_cfg()))
    z, a = torch.randn(8, 16), torch.randn(8, 3, requires_grad=True)
    model.Q(z, a, None, "avg", detach=True).sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    assert all(p.grad is None for p in model._Qs.parameters())
    model.Q(z, a.detach(), None, "min").sum().backward()
    assert model._Qs.params.layers()[0].weight.grad.abs().sum() > 0
    assert all(not b.requires_grad for b in model._target_Qs_params.buffers())
    assert model.Q(z, a, None, "all").shape == (4, 8, 101)
    assert model.Q(z, a, None, "min").shape == (8, 1)


def test_dropout_only_in_training_and_never_in_target():
    torch.manual_seed(0)
    model = perturbed(WorldModel(small_cfg(dropout=0.5)))
    z, a = torch.randn(64, 16), torch.randn(64, 3)
    model.eval()
    torch.testing.assert_close(model.Q(z, a, None, "all"), model.Q(z, a, None, "all"))
    model.train()
    assert not torch.equal(model.Q(z, a, None, "all"), model.Q(z, a, None, "all"))
    torch.testing.assert_close(model.Q(z, a, None, "all", target=True), model.Q(z, a, None, "all", target=True))


def test_soft_target_update_is_polyak():
    model = WorldModel(small_cfg())
    with torch.no_grad():
        for p in model._Qs.params.parameters():
            p.add_(1.0)
    before = [b.clone() for b in model._target_Qs_params.buffers()]
    model.soft_update_target_Q(0.25)
    for b0, b, p in zip(before, model._target_Qs_params.buffers(), model._Qs.params.parameters()):
        torch.testing.assert_close(b, b0 + 0.25 * (p - b0))


def test_multitask_masks_and_task_embedding_renorm():
    torch.manual_seed(0)
    model = WorldModel(small_cfg(num_tasks=3, task_dim=8, action_dims=(3, 1, 2)))
    with torch.no_grad():
        model._task_emb.weight[1] = 5.0  # norm > 1: the lookup must renormalise this row in place
    task = torch.tensor([0, 1, 2, 1])
    z = model.encode(torch.randn(4, 7), task)
    assert z.shape == (4, 16)
    assert model._task_emb.weight[1].norm().item() == pytest.approx(1.0, abs=1e-5)
    action, info = model.pi(z, task)
    assert torch.all(action[1, 1:] == 0) and torch.all(action[3, 1:] == 0) and torch.all(action[2, 2:] == 0)
    assert torch.all(action[0] != 0) and torch.isfinite(info["scaled_entropy"]).all()
    # leading time dims broadcast over the per-sample task ids
    assert model.next(torch.randn(2, 4, 16), torch.randn(2, 4, 3), task).shape == (2, 4, 16)
    assert model.encode(torch.randn(4, 7), 2).shape == (4, 16)


def test_termination_head_only_when_episodic():
    assert WorldModel(small_cfg())._termination is None
    model = WorldModel(small_cfg(episodic=True))
    p = model.termination(torch.randn(5, 16))
    assert p.shape == (5, 1) and ((p > 0) & (p < 1)).all()
    assert any(k.startswith("_termination.2.") for k in model.state_dict())


def test_two_hot_round_trip_and_loss():
    x = torch.tensor([[-3000.0], [-1.5], [0.0], [0.37], [12.0], [22025.0]])
    target = math.two_hot(x)
    assert torch.allclose(target.sum(-1), torch.ones(6))
    decoded = math.two_hot_inv(torch.log(target.clamp_min(1e-12)))
    torch.testing.assert_close(decoded, x, rtol=1e-3, atol=1e-3)
    logits = torch.randn(6, 101, requires_grad=True)
    loss = math.soft_ce(logits, x)
    assert loss.shape == (6, 1)
    assert (math.soft_ce(torch.log(target.clamp_min(1e-12)), x) <= loss).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda():
    model = WorldModel(small_cfg(num_tasks=2, task_dim=8)).cuda()
    z = model.encode(torch.randn(4, 7, device="cuda"), torch.tensor([0, 1, 0, 1], device="cuda"))
    assert model.Q(z, torch.zeros(4, 3, device="cuda"), torch.tensor([0, 1, 0, 1], device="cuda")).is_cuda


def test_padded_linear_equals_the_unpadded_forward_and_backward(monkeypatch):
    """pwm.nn.linear zero-pads an odd input width (here 34 -> 48) for large training batches: the
    values and the gradients of the input, weight and bias are those of F.linear, through a
    NormedLinear and the Q ensemble's first layer (StackedMLP), and without grad nothing is padded."""
    import pwm.nn as pnn

    torch.manual_seed(0)
    layer = pnn.NormedLinear(34, 24)
    ens = pnn.StackedMLP(3, 34, [24], 1)
    ens.reset_parameters()
    x = torch.randn(pnn.PAD_MIN_ROWS + 10, 34)

    def run():
        xs = x.clone().requires_grad_()
        out = layer(xs).square().sum() + ens(xs, dropout=0.0).square().sum()
        params = [xs, *layer.parameters(), *ens.parameters()]
        grads = torch.autograd.grad(out, params)
        return out.detach(), grads

    padded = run()
    calls = []
    real_pad = torch.nn.functional.pad
    monkeypatch.setattr(pnn.F, "pad", lambda t, p: calls.append(p) or real_pad(t, p))
    run()
    assert calls and all(p == (0, 14) for p in calls)  # the padding really ran: to 48 = 3 x 16
    monkeypatch.setattr(pnn, "PAD_MULTIPLE", 1)
    plain = run()
    torch.testing.assert_close(padded[0], plain[0])
    for a, b in zip(padded[1], plain[1]):
        torch.testing.assert_close(a, b)
    calls.clear()
    monkeypatch.setattr(pnn, "PAD_MULTIPLE", 16)
    with torch.no_grad():
        layer(x), ens(x)
    layer(x[:100].requires_grad_())  # too few rows to pay for the copies
    assert calls == []

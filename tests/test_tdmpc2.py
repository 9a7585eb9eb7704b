"""TD-MPC2 agent: loss pieces against independent computations, planner masks and bounds, replay."""

import numpy as np
import pytest
import torch

from baselines.tdmpc2 import load_hparams
from pwm import math
from pwm.data.chunks import load_chunk, save_chunk
from pwm.data.replay import EpisodeReplay
from pwm.data.sampler import Batch
from pwm.planning import MPPIPlanner, PlannerConfig, discount_heuristic
from pwm.tdmpc2_agent import RunningScale, TDMPC2Agent, policy_loss, td_target, world_model_losses
from pwm.world_model import WorldModel, WorldModelConfig

TINY = dict(latent_dim=16, enc_dim=32, mlp_dim=32, num_q=3)


def tiny_model(obs_dim=5, action_dim=2, **kw):
    torch.manual_seed(0)
    model = WorldModel(WorldModelConfig(obs_dim=obs_dim, action_dim=action_dim, **{**TINY, **kw}))
    with torch.no_grad():  # non-trivial reward and Q heads (they start at zero)
        model._reward[-1].weight.normal_(0, 0.3)
        model._Qs.params.layers()[-1].weight.normal_(0, 0.3)
    model.copy_target_from_online()
    return model


def tiny_batch(model, H=3, B=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    c = model.cfg
    return Batch(
        obs=torch.randn(H + 1, B, c.obs_dim, generator=g),
        action=torch.rand(H, B, c.action_dim, generator=g) * 2 - 1,
        reward=torch.rand(H, B, 1, generator=g) * 3,
        terminated=torch.zeros(H, B, 1),
        task=torch.zeros(B, dtype=torch.long),
    )


def numpy_two_hot_ce(logits: np.ndarray, target: float, K=101, vmin=-10.0, vmax=10.0) -> float:
    """Cross-entropy against a two-hot target, from the definition (docs/reference-notes.md §7.1)."""
    x = np.clip(np.sign(target) * np.log1p(abs(target)), vmin, vmax)
    pos = (x - vmin) / ((vmax - vmin) / (K - 1))
    lo = int(np.floor(pos))
    w = np.zeros(K)
    w[lo] += 1 - (pos - lo)
    w[(lo + 1) % K] += pos - lo
    logp = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
    return float(-(w * logp).sum())


def test_two_hot_cross_entropy_matches_definition():
    torch.manual_seed(0)
    logits = torch.randn(6, 101, dtype=torch.float64)
    targets = torch.tensor([[0.0], [0.37], [-2.5], [1e6], [-1e6], [123.4]], dtype=torch.float64)
    got = math.soft_ce(logits, targets).squeeze(1).numpy()
    want = [numpy_two_hot_ce(logits[i].numpy(), float(targets[i])) for i in range(6)]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_world_model_losses_rho_weighting_matches_explicit_loops():
    model = tiny_model().eval()  # eval: no dropout, so the value loss is deterministic
    batch, rho, gamma, H = tiny_batch(model), 0.7, 0.9, 3
    torch.manual_seed(5)
    losses = world_model_losses(model, batch, gamma, rho)
    with torch.no_grad():
        torch.manual_seed(5)  # same pi sample inside the TD target
        next_z = model.encode(batch.obs[1:])
        y = td_target(model, next_z, batch.reward, batch.terminated, gamma, None)
        z = model.encode(batch.obs[0])
        cons = rew = val = 0.0
        for t in range(H):
            a = batch.action[t]
            r_logits = model.reward(z, a).numpy()
            q_logits = model.Q(z, a, return_type="all").numpy()
            rew += rho**t * np.mean([numpy_two_hot_ce(r_logits[b], float(batch.reward[t, b])) for b in range(8)])
            for q in range(model.cfg.num_q):
                val += rho**t * np.mean([numpy_two_hot_ce(q_logits[q, b], float(y[t, b])) for b in range(8)])
            z = model.next(z, a)
            cons += rho**t * float(((z - next_z[t]) ** 2).mean())
    assert float(losses["consistency"].detach()) == pytest.approx(cons / H, rel=1e-5)
    assert float(losses["reward"].detach()) == pytest.approx(rew / H, rel=1e-5)
    assert float(losses["value"].detach()) == pytest.approx(val / (H * model.cfg.num_q), rel=1e-5)


def test_td_target_uses_min_of_target_q_and_discount():
    model = tiny_model(num_q=2).eval()
    with torch.no_grad():
        for p in model._target_Qs_params.buffers():
            p.add_(0.1 * torch.randn_like(p))
    batch = tiny_batch(model)
    next_z = model.encode(batch.obs[1:])
    torch.manual_seed(3)
    y = td_target(model, next_z, batch.reward, batch.terminated, 0.8, None)
    torch.manual_seed(3)
    a, _ = model.pi(next_z)
    logits = model._target_Qs_params(torch.cat([next_z, a], -1))  # [2, H, B, K]
    q = math.two_hot_inv(logits).min(0).values
    torch.testing.assert_close(y, batch.reward + 0.8 * q)


def test_running_scale_is_lerped_percentile_range():
    torch.manual_seed(0)
    scale = RunningScale(tau=0.01)
    value = 1.0
    for spread in (0.5, 30.0, 80.0):
        x = torch.randn(256, 1) * spread
        p5, p95 = np.percentile(x.numpy()[:, 0], [5, 95])  # numpy's default is linear interpolation
        value = value + 0.01 * (max(p95 - p5, 1.0) - value)
        scale.update(x)
        assert float(scale.value) == pytest.approx(value, rel=1e-5)
    torch.testing.assert_close(scale(torch.tensor([2.0])), torch.tensor([2.0 / value], dtype=torch.float32))


def test_polyak_update_of_target_q():
    model = tiny_model()
    with torch.no_grad():
        for p in model._Qs.params.parameters():
            p.add_(torch.randn_like(p))
    old = [b.clone() for b in model._target_Qs_params.buffers()]
    online = [p.detach().clone() for p in model._Qs.params.parameters()]
    model.soft_update_target_Q(0.05)
    for t, o, new in zip(old, online, model._target_Qs_params.buffers()):
        torch.testing.assert_close(new, 0.95 * t + 0.05 * o)


def test_agent_update_steps_every_part_and_respects_lr_scale_and_clip():
    cfg = load_hparams({"grad_clip_norm": 0.5})
    model = tiny_model()
    agent = TDMPC2Agent(model, cfg, discount=0.99)
    assert agent.optim.param_groups[0]["lr"] == pytest.approx(3e-4 * 0.3)
    assert all(g["lr"] == pytest.approx(3e-4) for g in agent.optim.param_groups[1:])
    before = {k: v.clone() for k, v in model.state_dict().items() if torch.is_tensor(v)}
    target_before = [b.clone() for b in model._target_Qs_params.buffers()]
    info = agent.update(tiny_batch(model, B=16))
    after = model.state_dict()
    for prefix in ("_encoder.", "_dynamics.", "_reward.", "_pi.", "_Qs.params.", "_target_Qs_params."):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix)), prefix
    for t_old, t_new, o in zip(target_before, model._target_Qs_params.buffers(), model._Qs.params.parameters()):
        torch.testing.assert_close(t_new, 0.99 * t_old + 0.01 * o.detach())
    assert np.isfinite(list(info.values())).all()
    assert not model.training


def test_policy_loss_reaches_only_the_policy():
    model = tiny_model().train()
    zs = model.encode(torch.randn(4, 8, 5)).detach()
    loss = policy_loss(model, zs, RunningScale(), 0.5, 1e-4)
    loss.backward()
    assert all(p.grad is not None for p in model._pi.parameters())
    assert all(p.grad is None for n, p in model.named_parameters() if not n.startswith("_pi."))


def test_discount_heuristic():
    got = discount_heuristic(torch.tensor([500, 100, 1000, 10]))
    torch.testing.assert_close(got, torch.tensor([0.99, 0.95, 0.995, 0.95]))


@pytest.mark.parametrize("eval_mode", [True, False])
def test_planner_respects_action_masks_and_bounds(eval_mode):
    torch.manual_seed(0)
    cfg = WorldModelConfig(obs_dim=6, action_dim=3, num_tasks=3, task_dim=8, action_dims=(1, 3, 2), **TINY)
    model = WorldModel(cfg)
    with torch.no_grad():  # an exploding Q pushes means to the bounds
        model._Qs.params.layers()[-1].weight.normal_(0, 5.0)
    planner = MPPIPlanner(model, PlannerConfig(num_samples=64, num_elites=8, num_pi_trajs=4, iterations=3), [0.99] * 3)
    for task, dims in enumerate(cfg.action_dims):
        for t in range(4):
            a = planner.plan(torch.randn(6) * 5, task=task, t0=t == 0, eval_mode=eval_mode)
            assert a.shape == (3,) and torch.all(a.abs() <= 1)
            assert torch.all(a[dims:] == 0), (task, a)
            assert torch.all(planner.prev_mean[:, dims:] == 0)


def test_planner_warm_start_shifts_previous_mean():
    model = tiny_model()
    with pytest.raises(ValueError):
        PlannerConfig(iterations=0)
    with pytest.raises(ValueError):
        PlannerConfig(num_samples=16, num_elites=32)
    # One iteration with a vanishing std samples the initial mean: the shifted warm start.
    planner = MPPIPlanner(
        model,
        PlannerConfig(num_samples=32, num_elites=32, num_pi_trajs=0, iterations=1, min_std=1e-6, max_std=1e-6),
        0.99,
    )
    planner.prev_mean = torch.tensor([[0.9, 0.9], [0.3, -0.4], [0.5, 0.5]])
    a = planner.plan(torch.randn(5), t0=False, eval_mode=True)
    torch.testing.assert_close(a, torch.tensor([0.3, -0.4]), atol=1e-4, rtol=0)
    torch.testing.assert_close(planner.prev_mean[-1], torch.zeros(2), atol=1e-4, rtol=0)
    a = planner.plan(torch.randn(5), t0=True, eval_mode=True)  # t0: no warm start, mean 0
    torch.testing.assert_close(a, torch.zeros(2), atol=1e-4, rtol=0)


def test_replay_windows_stay_in_episodes_and_align_actions(tmp_path):
    buf = EpisodeReplay(obs_dim=1, action_dim=1, max_episode_length=10, capacity=30, seed=0)
    for e in range(4):  # 4 episodes of 10 steps into room for 3: the first is evicted
        obs = 100 * e + np.arange(11.0)[:, None]
        buf.add(obs, obs[1:] + 0.5, obs[1:, 0] + 0.25)
    assert len(buf) == 3 and buf.num_transitions == 30
    b = buf.sample(512, horizon=3)
    o = b.obs[..., 0]
    assert torch.all(o[1:] - o[:-1] == 1) and torch.all(o >= 100)  # inside one episode, not the evicted one
    torch.testing.assert_close(b.action[..., 0], o[1:] + 0.5)  # action that led to obs[t+1]
    torch.testing.assert_close(b.reward[..., 0], o[1:] + 0.25)
    chunk = buf.to_chunk(task=7)
    save_chunk(chunk, tmp_path / "chunk_0.pt")
    loaded = load_chunk(tmp_path / "chunk_0.pt", num_tasks=8)
    assert tuple(loaded.batch_size) == (3, 11) and torch.all(loaded["task"] == 7)
    assert loaded["obs"][0, 0, 0] == 100 and torch.isnan(loaded["action"][:, 0]).all()
    state = buf.state_dict()
    other = EpisodeReplay(1, 1, 10, 30)
    other.load_state_dict(state)
    torch.testing.assert_close(other.to_chunk()["obs"], buf.to_chunk()["obs"])


def test_min_and_avg_q_run_only_the_random_pair():
    model = tiny_model(num_q=5).eval()
    z, a = torch.randn(7, 16), torch.rand(7, 2) * 2 - 1
    every = math.two_hot_inv(model.Q(z, a, return_type="all"))  # [5, 7, 1]
    for kind, reduce in (("min", lambda q: q.min(0).values), ("avg", lambda q: q.mean(0))):
        torch.manual_seed(11)
        got = model.Q(z, a, return_type=kind)
        torch.manual_seed(11)
        pair = torch.randperm(5)[:2]
        torch.testing.assert_close(got, reduce(every[pair]))


# ---- TD-MPC2's large-action heuristic: 2 more MPPI iterations when the action dim is >= 20 ----------
def count_iterations(planner: MPPIPlanner, calls: int = 1, **plan_kw) -> int:
    """How many MPPI iterations ``plan`` runs: each scores the samples once with ``estimate_value``."""
    count = 0
    inner = planner.estimate_value

    def counted(*args, **kwargs):
        nonlocal count
        count += 1
        return inner(*args, **kwargs)

    planner.estimate_value = counted
    for i in range(calls):
        planner.plan(torch.randn(planner.model.cfg.obs_dim), t0=i == 0, eval_mode=True, **plan_kw)
    return count


SMALL_PLAN = dict(num_samples=16, num_elites=4, num_pi_trajs=2)


@pytest.mark.parametrize("iterations", [1, 6])
def test_planner_runs_two_more_iterations_from_action_dim_20(iterations):
    cfg = PlannerConfig(iterations=iterations, **SMALL_PLAN)
    counts = {A: count_iterations(MPPIPlanner(tiny_model(action_dim=A), cfg, 0.99), calls=2) for A in (19, 20, 38)}
    assert counts == {19: 2 * iterations, 20: 2 * (iterations + 2), 38: 2 * (iterations + 2)}


def test_multitask_planner_counts_the_padded_action_dim():
    # Task 0 has 3 real action dims, but the model's (padded) action dim is the suite's max, 20,
    # which decides the count for every task, as in TD-MPC2.
    torch.manual_seed(0)
    model = WorldModel(WorldModelConfig(obs_dim=6, action_dim=20, num_tasks=2, task_dim=8, action_dims=(3, 20), **TINY))
    planner = MPPIPlanner(model, PlannerConfig(iterations=2, **SMALL_PLAN), [0.99, 0.99])
    assert count_iterations(planner, task=0) == 4


def test_agent_acting_and_eval_planning_use_the_heuristic(tmp_path, monkeypatch):
    from pwm.checkpoint import save_tdmpc2
    from pwm.eval_planning import eval_planning

    cfg = load_hparams(dict(iterations=1, **SMALL_PLAN))
    agent = TDMPC2Agent(tiny_model(obs_dim=5, action_dim=20), cfg, discount=0.99)
    calls = []
    original = MPPIPlanner.estimate_value
    monkeypatch.setattr(MPPIPlanner, "estimate_value", lambda self, *a: calls.append(1) or original(self, *a))
    agent.act(np.zeros(5, dtype=np.float32), t0=True, eval_mode=True)
    assert len(calls) == 3
    # pwm-bench eval-planning on dm_control's humanoid (A = 21): 500 decisions of 1 + 2 iterations.
    save_tdmpc2(tiny_model(obs_dim=67, action_dim=21), tmp_path / "model.pt")
    calls.clear()
    eval_planning(
        tmp_path / "model.pt",
        ["humanoid-stand"],
        tmp_path / "eval.csv",
        episodes=1,
        planner=dict(iterations=1, **SMALL_PLAN),
    )
    assert len(calls) == 500 * 3


# ---- episodic mode: termination head, no bootstrap past a termination -----------------------------
def episodic_model(**kw):
    model = tiny_model(episodic=True, **kw)
    with torch.no_grad():  # bootstrap values far from 0, so a missing (1 - terminated) would show
        for p in model._target_Qs_params.buffers():
            p.add_(0.1 * torch.randn_like(p))
    return model


def numpy_decode(logits: np.ndarray, vmin=-10.0, vmax=10.0) -> np.ndarray:
    """Two-hot decoding from the definition: symexp of the softmax-weighted bin centres."""
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    x = p @ np.linspace(vmin, vmax, logits.shape[-1])
    return np.sign(x) * np.expm1(np.abs(x))


def test_episodic_td_target_does_not_bootstrap_terminal_transitions():
    model = episodic_model().eval()
    batch = tiny_batch(model)
    terminated = torch.zeros(3, 8, 1)
    terminated[2, :4] = 1  # the last transition of 4 windows enters a terminal observation
    terminated[0, 7] = 1
    next_z = model.encode(batch.obs[1:])
    torch.manual_seed(3)
    y = td_target(model, next_z, batch.reward, terminated, 0.8, None)
    # By hand: the same policy sample and random pair of target members, decoded from the definition.
    torch.manual_seed(3)
    a, _ = model.pi(next_z)
    pair = torch.randperm(model.cfg.num_q)[:2]
    logits = model._target_Qs_params(torch.cat([next_z, a], -1)).detach().numpy()[pair.numpy()]
    q = numpy_decode(logits).min(0)  # [H, B]
    r, term = batch.reward[..., 0].numpy(), terminated[..., 0].numpy()
    want = np.where(term == 1, r, r + 0.8 * q)
    np.testing.assert_allclose(y[..., 0].detach().numpy(), want, rtol=1e-5, atol=1e-6)
    assert torch.equal(y[terminated.bool()], batch.reward[terminated.bool()])  # reward only, exactly
    assert np.abs(0.8 * q[term == 1]).min() > 1e-3  # the dropped bootstrap term was not ~0 anyway


def numpy_bce(logits: np.ndarray, target: np.ndarray) -> float:
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    return float(-(target * np.log(p) + (1 - target) * np.log(1 - p)).mean())


def test_termination_loss_is_bce_on_rollout_latents_and_decreases():
    model = episodic_model()
    g = torch.Generator().manual_seed(4)
    batch = tiny_batch(model, B=16)
    batch.terminated = (torch.rand(3, 16, 1, generator=g) < 0.3).float()
    with torch.no_grad():  # by hand: z_1..z_H of the latent rollout, their termination logits, BCE
        z = model.encode(batch.obs[0])
        logits = []
        for t in range(3):
            z = model.next(z, batch.action[t])
            logits.append(model._termination(z).numpy())
    want = numpy_bce(np.stack(logits), batch.terminated.numpy())
    got = world_model_losses(model, batch, 0.99, 0.5)["termination"]
    assert float(got.detach()) == pytest.approx(want, rel=1e-5)

    agent = TDMPC2Agent(model, load_hparams(), discount=0.99)
    assert any(g["params"] and g["params"][0] is model._termination[0].weight for g in agent.optim.param_groups)
    head_before = model._termination[-1].weight.clone()
    losses = [agent.update(batch)["termination"] for _ in range(40)]
    assert losses[0] == pytest.approx(want, rel=1e-4)  # the first update reports the loss it stepped on
    assert losses[-1] < 0.9 * losses[0] and losses[-1] < losses[20] < losses[0], losses
    assert not torch.equal(head_before, model._termination[-1].weight)


def test_non_episodic_agent_has_zero_termination_loss_and_no_head():
    model = tiny_model()
    batch = tiny_batch(model)
    assert model._termination is None and not any(k.startswith("_termination") for k in model.state_dict())
    assert float(world_model_losses(model, batch, 0.99, 0.5)["termination"]) == 0.0


def test_planner_stops_the_return_where_termination_is_predicted():
    model = episodic_model().eval()
    z = model.encode(torch.randn(4, 5))
    actions = torch.rand(3, 4, 2) * 2 - 1
    gamma = 0.9
    planner = MPPIPlanner(model, PlannerConfig(horizon=3, **SMALL_PLAN), gamma)
    with torch.no_grad():
        rewards, zt = [], z
        for t in range(3):
            rewards.append(numpy_decode(model.reward(zt, actions[t]).numpy()))
            zt = model.next(zt, actions[t])
        torch.manual_seed(8)
        a, _ = model.pi(zt)
        pair = torch.randperm(model.cfg.num_q)[:2]
        q = numpy_decode(model._Qs.params(torch.cat([zt, a], -1)).numpy()[pair.numpy()]).mean(0)
        bias = model._termination[-1].bias
        for value, want in (
            (50.0, rewards[0]),  # terminal after step 0: its reward, nothing after
            (-50.0, rewards[0] + gamma * rewards[1] + gamma**2 * rewards[2] + gamma**3 * q),
        ):
            bias.fill_(value)
            torch.manual_seed(8)
            got = planner.estimate_value(z, actions, None)[..., 0].numpy()
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_episodic_checkpoint_saves_and_loads_bitwise(tmp_path):
    from pwm.checkpoint import load_tdmpc2, save_tdmpc2

    model = episodic_model()
    save_tdmpc2(model, tmp_path / "model.pt")
    raw = torch.load(tmp_path / "model.pt", weights_only=True)["model"]
    keys = list(raw)
    term = [k for k in keys if k.startswith("_termination.")]
    assert term == [f"_termination.{i}.{f}" for i in (0, 1) for f in ("weight", "bias", "ln.weight", "ln.bias")] + [
        "_termination.2.weight",
        "_termination.2.bias",
    ]
    # TD-MPC2's module order: ... _reward, _termination, _pi, _Qs
    assert keys.index(term[0]) == keys.index("_reward.2.bias") + 1
    assert keys.index("_pi.0.weight") == keys.index(term[-1]) + 1
    assert tuple(raw["_termination.2.weight"].shape) == (1, 32)
    loaded = load_tdmpc2(tmp_path / "model.pt")
    assert loaded.cfg.episodic
    for k, v in model.state_dict().items():
        if torch.is_tensor(v):
            assert torch.equal(v, loaded.state_dict()[k]), k
    # A non-episodic file still loads as non-episodic, and refuses a termination head pinned onto it.
    save_tdmpc2(tiny_model(), tmp_path / "plain.pt")
    assert not load_tdmpc2(tmp_path / "plain.pt").cfg.episodic
    with pytest.raises(Exception, match="_termination"):
        load_tdmpc2(tmp_path / "plain.pt", cfg=model.cfg)


def test_episodic_replay_marks_the_transition_into_a_terminal_observation(tmp_path):
    from baselines.tdmpc2 import EpisodicReplay

    episodes = [(10, False), (6, True), (10, True), (4, True)]
    plain, episodic = (EpisodeReplay(1, 1, 10, 40, seed=3), EpisodicReplay(1, 1, 10, 40, seed=3))
    for e, (n, term) in enumerate(episodes):
        obs = 100 * e + np.arange(n + 1.0)[:, None]
        plain.add(obs, obs[1:] + 0.5, obs[1:, 0])
        episodic.add(obs, obs[1:] + 0.5, obs[1:, 0], terminated=term)
    a, b = plain.sample(256, 3), episodic.sample(256, 3)
    for field in ("obs", "action", "reward", "task"):  # the same windows as the plain replay
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    o = b.obs[1:, :, 0]  # [H, B]: the observation each transition leads to
    last = torch.tensor([n for n, _ in episodes])[(o // 100).long()]
    ended = torch.tensor([t for _, t in episodes])[(o // 100).long()]
    want = ((o % 100 == last) & ended).float()
    assert torch.equal(b.terminated[..., 0], want) and want.sum() > 0
    state = episodic.state_dict()
    other = EpisodicReplay(1, 1, 10, 40, seed=0)
    other.load_state_dict(state)
    assert torch.equal(other.terminal, episodic.terminal)
    chunk = episodic.to_chunk()  # rectangular: the 10-step episodes, the second one terminal
    assert tuple(chunk.batch_size) == (2, 11)
    assert torch.isnan(chunk["terminated"][:, 0]).all()
    assert chunk["terminated"][:, 1:].tolist() == [[0.0] * 10, [0.0] * 9 + [1.0]]


def test_episodic_auto_follows_the_registry():
    from baselines.tdmpc2 import resolve_episodic
    from pwm.envs import get_spec

    cfg = load_hparams()
    assert cfg.episodic == "auto"
    got = {
        t: resolve_episodic(cfg, get_spec(t))
        for t in (
            "hopper",
            "ant",
            "humanoid",
            "quadruped",
            "muscle-legs",
            "cheetah",
            "cartpole",
            "walker-walk",
            "mw-reach",
        )
    }
    assert got == {
        "hopper": True,
        "ant": True,
        "humanoid": True,
        "quadruped": True,
        "muscle-legs": True,
        "cheetah": False,
        "cartpole": False,
        "walker-walk": False,
        "mw-reach": False,
    }
    assert resolve_episodic(load_hparams({"episodic": False}), get_spec("hopper")) is False
    assert resolve_episodic(load_hparams({"episodic": True}), get_spec("walker-walk")) is True
    with pytest.raises(ValueError, match="episodic"):
        resolve_episodic(load_hparams({"episodic": "sometimes"}), get_spec("hopper"))

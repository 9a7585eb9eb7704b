"""Differentiable MuJoCo tasks: gradients against finite differences, formulas on hand-built
states, episode bookkeeping, the gymnasium version, and errors. Real physics throughout."""

import math

import mujoco
import numpy as np
import pytest
import torch

from pwm.envs import get_spec, make
from pwm.envs.diff import DiffEnv, get_task
from pwm.envs.diff.tangent import TangentLayout

# Tiny tensors: torch's OpenMP workers only spin-wait (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


DIMS = {"hopper": (11, 3), "ant": (37, 8), "humanoid": (76, 21), "cheetah": (17, 6), "cartpole": (5, 1)}
HORIZON = {"hopper": 8, "ant": 5, "humanoid": 4, "cheetah": 6, "cartpole": 8}


def f64_env(task, seed=1, **kw):
    env = DiffEnv(task, 1, seed=seed, dtype=torch.float64, **kw)
    env.reset()
    return env


def rollout_return(env, state, actions):
    env.set_state(state)
    total = torch.zeros((), dtype=torch.float64)
    for a in actions:
        _, reward, _, _ = env.step(a)
        total = total + reward.sum()
    return total


def cosine(a, b):
    return float(torch.nn.functional.cosine_similarity(a.reshape(-1), b.reshape(-1), dim=0))


@pytest.mark.parametrize("task", list(DIMS))
def test_action_gradient_matches_centred_difference_of_whole_rollout(task):
    env = f64_env(task)
    state = env.get_state()
    gen = torch.Generator().manual_seed(0)
    base = 0.3 * torch.randn(HORIZON[task], 1, env.act_dim, generator=gen, dtype=torch.float64)
    actions = base.clone().requires_grad_(True)
    rollout_return(env, state, actions).backward()
    eps = 1e-5
    fd = torch.zeros_like(base).reshape(-1)
    with torch.no_grad():
        for i in range(fd.numel()):
            plus, minus = base.clone().reshape(-1), base.clone().reshape(-1)
            plus[i] += eps
            minus[i] -= eps
            fd[i] = (
                rollout_return(env, state, plus.view_as(base)) - rollout_return(env, state, minus.view_as(base))
            ) / (2 * eps)
    assert torch.isfinite(actions.grad).all()
    assert cosine(actions.grad, fd) > 0.999
    assert float((actions.grad.reshape(-1) - fd).norm() / fd.norm()) < 1e-2


def test_tangent_maps_agree_with_mujoco_integrate_and_differentiate_pos():
    model = get_task("ant").build_model()
    layout = TangentLayout.from_model(model)
    assert layout.quat_q == (3,) and layout.quat_v == (3,)
    rng = np.random.default_rng(0)
    qpos = model.qpos0.copy()
    qpos[3:7] = rng.normal(size=4)
    qpos[3:7] /= np.linalg.norm(qpos[3:7])
    eps = 1e-6
    # J: columns of d(qpos ⊕ δ)/dδ by finite differences of mj_integratePos
    jac = np.zeros((model.nq, model.nv))
    for i in range(model.nv):
        out = qpos.copy()
        dv = np.zeros(model.nv)
        dv[i] = 1.0
        mujoco.mj_integratePos(model, out, dv, eps)
        jac[:, i] = (out - qpos) / eps
    # G: rows of dδ/dqpos by finite differences of mj_differentiatePos
    g = np.zeros((model.nv, model.nq))
    for i in range(model.nq):
        moved = qpos.copy()
        moved[i] += eps
        dv = np.zeros(model.nv)
        mujoco.mj_differentiatePos(model, dv, eps, qpos, moved)
        g[:, i] = dv
    q = torch.tensor(qpos).unsqueeze(0)
    gq = torch.randn(1, model.nq, dtype=torch.float64)
    gv = torch.randn(1, model.nv, dtype=torch.float64)
    np.testing.assert_allclose(layout.qpos_grad_to_tangent(q, gq)[0].numpy(), jac.T @ gq[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(layout.tangent_grad_to_qpos(q, gv)[0].numpy(), g.T @ gv[0].numpy(), atol=1e-4)
    np.testing.assert_allclose(g @ jac, np.eye(model.nv), atol=1e-4)


def test_state_gradient_through_free_joint_matches_tangent_finite_difference():
    """d(return)/d(initial state) along the 14 tangent directions of the ant's state."""
    env = f64_env("ant", seed=3)
    state = env.get_state()
    model, layout = env.backend.model, env.backend.layout
    actions = 0.2 * torch.ones(4, 1, env.act_dim, dtype=torch.float64)

    def run(qpos, qvel):
        env.set_state(state)
        env.qpos, env.qvel = qpos, qvel
        total = torch.zeros((), dtype=torch.float64)
        for a in actions:
            total = total + env.step(a)[1].sum()
        return total

    qpos = state["qpos"].clone().requires_grad_(True)
    qvel = state["qvel"].clone().requires_grad_(True)
    run(qpos, qvel).backward()
    analytic = torch.cat([layout.qpos_grad_to_tangent(qpos.detach(), qpos.grad), qvel.grad], -1)[0]
    eps = 1e-6
    fd = torch.zeros(2 * model.nv, dtype=torch.float64)
    with torch.no_grad():
        for i in range(2 * model.nv):
            values = []
            for sign in (1.0, -1.0):
                q = state["qpos"][0].numpy().copy()
                v = state["qvel"][0].clone()
                if i < model.nv:
                    dv = np.zeros(model.nv)
                    dv[i] = sign
                    mujoco.mj_integratePos(model, q, dv, eps)
                else:
                    v[i - model.nv] += sign * eps
                values.append(run(torch.tensor(q).unsqueeze(0), v.unsqueeze(0)))
            fd[i] = (values[0] - values[1]) / (2 * eps)
    assert cosine(analytic, fd) > 0.999
    assert float((analytic - fd).norm() / fd.norm()) < 1e-2


@pytest.mark.parametrize("task", list(DIMS))
def test_dimensions_and_registry(task):
    obs_dim, act_dim = DIMS[task]
    spec = get_spec(task)
    assert spec.family == "differentiable" and spec.action_repeat == 1 and spec.score == "reward"
    assert spec.episode_length == (240 if task == "cartpole" else 1000)
    env = make(task, 0)
    obs, info = env.reset(seed=5)
    assert obs.shape == (obs_dim,) and obs.dtype == np.float32 and env.action_space.shape == (act_dim,)
    again, _ = env.reset(seed=5)
    np.testing.assert_array_equal(obs, again)
    obs2, reward, terminated, truncated, _ = env.step(np.zeros(act_dim, np.float32))
    assert obs2.shape == (obs_dim,) and np.isfinite(reward)
    env.close()


def test_hopper_observation_reward_termination_on_hand_built_state():
    task = get_task("hopper")
    qpos = torch.tensor([[0.7, 1.25 - 0.1, 0.2, -0.3, -0.4, 0.1]], dtype=torch.float64)
    qvel = torch.tensor([[1.5, -0.2, 0.3, 0.4, 0.5, 0.6]], dtype=torch.float64)
    action = torch.tensor([[0.5, -1.0, 0.0]], dtype=torch.float64)
    obs = task.observe(qpos, qvel, action)
    expected = [-0.1, 0.2, -0.3, -0.4, 0.1, 1.5, -0.2, 0.3, 0.4, 0.5, 0.6]
    np.testing.assert_allclose(obs[0].numpy(), expected, atol=1e-12)
    d = min(max(-0.1 - (-0.45 + 0.15), -1.0), 0.3)  # 0.2 -> height term d
    reward = 1.5 + d + (1 - 0.2**2 / (math.pi / 6) ** 2) - 0.1 * 1.25
    assert float(task.reward(obs, action)) == pytest.approx(reward, abs=1e-12)
    low = obs.clone()
    low[0, 0] = -0.4  # d = -0.1 -> -200 d^2
    assert float(task.reward(low, action)) == pytest.approx(
        1.5 - 200 * 0.01 + (1 - 0.2**2 / (math.pi / 6) ** 2) - 0.125, abs=1e-12
    )
    low[0, 0] = -0.46
    assert bool(task.terminated(low)) and not bool(task.terminated(obs))


def yaw(angle):
    return torch.tensor([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)], dtype=torch.float64)


@pytest.mark.parametrize("task_name", ["ant", "humanoid"])
def test_free_body_observation_and_reward_on_hand_built_state(task_name):
    task = get_task(task_name)
    qpos, _ = task.start_state()
    qpos = qpos.unsqueeze(0).clone()
    nj = task.act_dim
    qpos[0, 0:3] = torch.tensor([2.0, 0.5, 0.9], dtype=torch.float64)
    qpos[0, 7:] = torch.linspace(-0.3, 0.3, nj, dtype=torch.float64)
    qvel = torch.zeros(1, 6 + nj, dtype=torch.float64)
    qvel[0, 0:3] = torch.tensor([1.0, 2.0, 3.0])
    qvel[0, 3:6] = torch.tensor([0.1, 0.2, 0.3])  # body frame = world frame at identity
    qvel[0, 6:] = torch.linspace(1.0, 2.0, nj, dtype=torch.float64)
    action = torch.full((1, nj), 0.5, dtype=torch.float64)
    obs = task.observe(qpos, qvel, action)[0]
    s = math.sqrt(0.5)
    base = 11 + 2 * nj
    assert obs.shape == (task.obs_dim,)
    assert float(obs[0]) == pytest.approx(0.9)
    np.testing.assert_allclose(obs[1:5].numpy(), [-s, 0.0, 0.0, s], atol=1e-12)  # dflex start rotation, xyzw
    np.testing.assert_allclose(obs[5:8].numpy(), [1.0, 3.0, -2.0], atol=1e-12)  # y-up world
    np.testing.assert_allclose(obs[8:11].numpy(), [0.1, 0.3, -0.2], atol=1e-12)
    np.testing.assert_allclose(obs[11 : 11 + nj].numpy(), qpos[0, 7:].numpy())
    np.testing.assert_allclose(obs[11 + nj : base].numpy(), 0.1 * qvel[0, 6:].numpy())
    target = task.target_distance
    heading = (target - 2.0) / math.hypot(target - 2.0, 0.5)
    assert float(obs[base]) == pytest.approx(1.0) and float(obs[base + 1]) == pytest.approx(heading)
    np.testing.assert_allclose(obs[base + 2 :].numpy(), 0.5)
    r = float(task.reward(obs.unsqueeze(0), action))
    if task_name == "ant":
        assert r == pytest.approx(1.0 + 0.1 + heading + (0.9 - 0.27))
    else:
        d = max(min(0.9 - 0.84, 0.1), -1.0)
        assert r == pytest.approx(1.0 + 0.1 + heading + 10 * d - 0.002 * 0.25 * nj)
    # turned 90 degrees to the left: heading is orthogonal to the target; a body-frame spin about
    # the body's x axis is a world spin about +y (MuJoCo), i.e. -z in dflex's frame
    qpos[0, 3:7] = yaw(math.pi / 2)
    qpos[0, 0:2] = 0.0
    qvel[0, 3:6] = torch.tensor([1.0, 0.0, 0.0])
    obs = task.observe(qpos, qvel, action)[0]
    assert float(obs[base + 1]) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(obs[8:11].numpy(), [0.0, 0.0, -1.0], atol=1e-12)
    assert not bool(task.terminated(obs.unsqueeze(0)))
    obs[0] = task.termination_height - 0.01
    assert bool(task.terminated(obs.unsqueeze(0)))


def test_cartpole_and_cheetah_formulas():
    cart = get_task("cartpole")
    qpos = torch.tensor([[0.5, 3 * math.pi / 2]], dtype=torch.float64)  # wraps to -π/2
    qvel = torch.tensor([[-1.0, 2.0]], dtype=torch.float64)
    obs = cart.observe(qpos, qvel, torch.zeros(1, 1, dtype=torch.float64))
    np.testing.assert_allclose(obs[0].numpy(), [0.5, -1.0, -1.0, 0.0, 2.0], atol=1e-12)
    expected = -((math.pi / 2) ** 2 + 0.1 * 4.0 + 0.05 * 0.25 + 0.1 * 1.0)
    assert float(cart.reward(obs, torch.ones(1, 1))) == pytest.approx(expected)
    cheetah = get_task("cheetah")
    qpos = cheetah.qpos0.unsqueeze(0).clone()
    qvel = torch.zeros(1, 9, dtype=torch.float64)
    qvel[0, 0] = 2.0
    obs = cheetah.observe(qpos, qvel, torch.zeros(1, 6))
    assert float(cheetah.reward(obs, torch.ones(1, 6, dtype=torch.float64))) == pytest.approx(2.0 - 0.6)


def test_early_termination_resets_and_reports_the_final_observation():
    env = DiffEnv("hopper", 2, seed=0)
    env.reset()
    qpos = env.qpos.clone()
    qpos[0, 1] = 1.25 - 0.9  # torso far below the termination height
    env.qpos = qpos
    obs, reward, done, info = env.step(torch.zeros(2, 3))
    assert done.tolist() == [True, False]
    assert info["terminated"].tolist() == [True, False] and not info["truncated"].any()
    assert float(info["obs_before_reset"][0, 0]) < -0.45
    assert abs(float(obs[0, 0])) < 0.1  # the new episode's first obs
    assert env.progress.tolist() == [0, 1]


def test_time_limit_truncates_and_nan_guard_zeroes_reward():
    env = DiffEnv("cartpole", 2, seed=0)
    env.reset()
    env.progress = torch.tensor([239, 0])
    obs, reward, done, info = env.step(torch.zeros(2, 1))
    assert info["truncated"].tolist() == [True, False] and not info["terminated"].any()
    assert not torch.equal(obs[0], info["obs_before_reset"][0])
    qvel = env.qvel.clone()
    qvel[1, 1] = 1e9
    env.qvel = qvel
    obs, reward, done, info = env.step(torch.zeros(2, 1))
    assert info["invalid"].tolist() == [False, True] and info["terminated"].tolist() == [False, True]
    assert float(reward[1]) == 0.0 and torch.isfinite(obs).all()


def test_threaded_no_grad_and_differentiable_paths_agree():
    actions = 0.5 * torch.randn(3, 6, 8, generator=torch.Generator().manual_seed(0))
    results = []
    for threads, grad in ((1, False), (2, False), (2, True)):
        env = DiffEnv("ant", 6, seed=4, threads=threads)
        env.reset()
        with torch.set_grad_enabled(grad):
            for a in actions:
                obs, reward, _, _ = env.step(a.clone().requires_grad_(grad))
        results.append((obs.detach(), reward.detach()))
        env.close()
    for obs, reward in results[1:]:
        torch.testing.assert_close(obs, results[0][0])
        torch.testing.assert_close(reward, results[0][1])


def test_bad_input_raises():
    with pytest.raises(ValueError, match="unknown differentiable task"):
        DiffEnv("walker", 1)
    with pytest.raises(ValueError, match="num_envs"):
        DiffEnv("hopper", 0)
    env = DiffEnv("hopper", 2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.zeros(2, 3))
    env.reset()
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        env.step(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="backend"):
        DiffEnv("hopper", 1, backend="warp")
    gym_env = make("hopper", 0)
    gym_env.reset(seed=0)
    with pytest.raises(ValueError, match="non-finite"):
        gym_env.step(np.array([np.nan, 0, 0], np.float32))


def test_backend_flags_a_state_mujoco_resets_and_composes_substeps_like_a_per_env_product():
    """MuJoCo resets a data whose qvel is past its limit (1e10) to the model's reference state, which
    is finite: the backend must still report that env diverged and give it no gradient, while the
    other envs' results equal stepping them alone; A and B equal the substeps' products computed
    by hand from mjd_transitionFD and mj_step on one data."""
    env = DiffEnv("hopper", 3, seed=2, substeps=3)
    env.reset()
    backend, model = env.backend, env.backend.model
    qpos, qvel = env.qpos.numpy().copy(), env.qvel.numpy().copy()
    qvel[1, 0] = 1e11
    ctrl = np.array([[0.3, -0.2, 0.1], [0.0, 0.0, 0.0], [-0.5, 0.4, 0.9]])
    result = backend.step(qpos, qvel, ctrl, jacobians=True)
    assert result.diverged.tolist() == [False, True, False]
    assert np.isfinite(result.qpos[1]).all() and not result.A[1].any() and not result.B[1].any()
    ns = 2 * model.nv
    for i in (0, 2):
        alone = backend.step(qpos[i : i + 1], qvel[i : i + 1], ctrl[i : i + 1], jacobians=True)
        np.testing.assert_array_equal(alone.qpos[0], result.qpos[i])
        d = mujoco.MjData(model)
        d.qpos[:], d.qvel[:], d.ctrl[:] = qpos[i], qvel[i], ctrl[i]
        A, B = np.eye(ns), np.zeros((ns, model.nu))
        for _ in range(3):
            a_k, b_k = np.zeros((ns, ns)), np.zeros((ns, model.nu))
            mujoco.mjd_transitionFD(model, d, 1e-6, False, a_k, b_k, None, None)
            mujoco.mj_step(model, d)
            A, B = a_k @ A, a_k @ B + b_k
        np.testing.assert_allclose(result.A[i], A, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(result.B[i], B, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(result.qpos[i], d.qpos, rtol=0, atol=1e-12)
    env.close()

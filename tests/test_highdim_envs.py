"""High-dimensional differentiable tasks (``quadruped``, ``muscle-legs``): gradients of whole short
rollouts against centred finite differences (for the muscles including the activation state),
observation/reward/termination formulas on hand-built states, registry entries, and errors.
Real physics throughout."""

import math

import mujoco
import numpy as np
import pytest
import torch

from pwm.envs import get_spec, make
from pwm.envs.diff import DiffEnv, get_task

# Tiny tensors: torch's OpenMP workers only spin-wait (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def f64_env(task, seed=1, **kw):
    env = DiffEnv(task, 1, seed=seed, dtype=torch.float64, **kw)
    env.reset()
    return env


def rollout_return(env, state, actions, qvel=None):
    env.set_state(state)
    if qvel is not None:
        env.qvel = qvel
    total = torch.zeros((), dtype=torch.float64)
    for a in actions:
        _, reward, _, _ = env.step(a)
        total = total + reward.sum()
    return total


def cosine(a, b):
    return float(torch.nn.functional.cosine_similarity(a.reshape(-1), b.reshape(-1), dim=0))


def centred_difference(fn, base, eps, indices=None):
    """d fn / d base[i] by centred differences, for the flat indices given (default: all)."""
    flat = base.reshape(-1)
    indices = range(flat.numel()) if indices is None else indices
    out = []
    with torch.no_grad():
        for i in indices:
            plus, minus = flat.clone(), flat.clone()
            plus[i] += eps
            minus[i] -= eps
            out.append((fn(plus.view_as(base)) - fn(minus.view_as(base))) / (2 * eps))
    return torch.stack(out)


# ---- quadruped ------------------------------------------------------------------------------------


def test_quadruped_action_gradient_matches_centred_difference_of_whole_rollout():
    env = f64_env("quadruped")
    state = env.get_state()
    base = 0.3 * torch.randn(5, 1, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    actions = base.clone().requires_grad_(True)
    rollout_return(env, state, actions).backward()
    fd = centred_difference(lambda a: rollout_return(env, state, a), base, 1e-5)
    assert torch.isfinite(actions.grad).all()
    assert cosine(actions.grad, fd) > 0.999
    assert float((actions.grad.reshape(-1) - fd).norm() / fd.norm()) < 1e-2


def yaw(angle):
    return torch.tensor([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)], dtype=torch.float64)


def test_quadruped_observation_reward_termination_on_hand_built_state():
    task = get_task("quadruped")
    qpos, qvel = task.start_state()
    assert qpos.shape == (19,) and qvel.shape == (18,)
    qpos = qpos.unsqueeze(0).clone()
    qpos[0, 0:3] = torch.tensor([3.0, -1.0, 0.5], dtype=torch.float64)
    qpos[0, 7:] = torch.linspace(-0.4, 0.4, 12, dtype=torch.float64)
    qvel = torch.zeros(1, 18, dtype=torch.float64)
    qvel[0, 0:3] = torch.tensor([1.2, 0.4, -0.1], dtype=torch.float64)
    qvel[0, 3:6] = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    qvel[0, 6:] = torch.linspace(-2.0, 2.0, 12, dtype=torch.float64)
    action = torch.linspace(-1.0, 1.0, 12, dtype=torch.float64).unsqueeze(0)
    obs = task.observe(qpos, qvel, action)[0]
    assert obs.shape == (49,)
    s = math.sqrt(0.5)
    assert float(obs[0]) == pytest.approx(0.5)
    np.testing.assert_allclose(obs[1:5].numpy(), [-s, 0.0, 0.0, s], atol=1e-12)  # Anymal's start rotation
    np.testing.assert_allclose(obs[5:8].numpy(), [1.2, -0.1, -0.4], atol=1e-12)  # y-up world
    np.testing.assert_allclose(obs[8:11].numpy(), [0.1, 0.3, -0.2], atol=1e-12)
    np.testing.assert_allclose(obs[11:23].numpy(), qpos[0, 7:].numpy())
    np.testing.assert_allclose(obs[23:35].numpy(), 0.1 * qvel[0, 6:].numpy())
    heading = (10000.0 - 3.0) / math.hypot(10000.0 - 3.0, 1.0)
    assert float(obs[35]) == pytest.approx(1.0) and float(obs[36]) == pytest.approx(heading)
    np.testing.assert_allclose(obs[37:49].numpy(), action[0].numpy())
    penalty = 0.005 * float((action**2).sum())
    r = float(task.reward(obs.unsqueeze(0), action))
    assert r == pytest.approx(1.2 + 0.1 + heading + (0.5 - 0.3) - penalty, abs=1e-12)
    # upside down: up = -1; facing -x: heading = -1
    qpos[0, 3:7] = torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64)  # 180° about x
    obs = task.observe(qpos, qvel, action)[0]
    assert float(obs[35]) == pytest.approx(-1.0)
    qpos[0, 3:7] = yaw(math.pi)
    qpos[0, 0:2] = 0.0
    obs = task.observe(qpos, qvel, action)[0]
    assert float(obs[36]) == pytest.approx(-1.0) and float(obs[35]) == pytest.approx(1.0)
    assert not bool(task.terminated(obs.unsqueeze(0)))
    obs[0] = 0.29
    assert bool(task.terminated(obs.unsqueeze(0)))


def test_quadruped_model_has_12_motors_on_its_12_joints():
    model = get_task("quadruped").build_model()
    assert (model.nq, model.nv, model.nu, model.na) == (19, 18, 12, 0)
    joints = [model.joint(int(model.actuator_trnid[i, 0])).name for i in range(model.nu)]
    assert joints == [
        f"{k}_{leg}"
        for leg in ("front_left", "front_right", "back_right", "back_left")
        for k in ("yaw", "pitch", "knee")
    ]
    assert model.body_subtreemass[1] == pytest.approx(50.0)
    assert np.all(model.actuator_gear[:, 0] == 100.0) and not model.actuator_ctrllimited.any()


def test_quadruped_stands_with_zero_action_and_terminates_when_dropped():
    env = DiffEnv("quadruped", 2, seed=0, stochastic_init=False)
    env.reset()
    qpos = env.qpos.clone()
    qpos[1, 2] = 0.25  # torso pushed into the floor
    env.qpos = qpos
    with torch.no_grad():
        obs, reward, done, info = env.step(torch.zeros(2, 12))
        assert info["terminated"].tolist() == [False, True]
        for _ in range(60):
            obs, reward, done, info = env.step(torch.zeros(2, 12))
    assert not done.any()
    assert 0.5 < float(obs[0, 0]) < 0.7 and float(obs[0, 35]) > 0.99


# ---- muscle-legs -----------------------------------------------------------------------------------


def test_muscle_legs_action_gradient_matches_centred_difference_of_whole_rollout():
    env = f64_env("muscle-legs")
    state = env.get_state()
    base = 0.3 * torch.randn(4, 1, 80, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    actions = base.clone().requires_grad_(True)
    rollout_return(env, state, actions).backward()
    fd = centred_difference(lambda a: rollout_return(env, state, a), base, 1e-5)
    assert torch.isfinite(actions.grad).all()
    assert cosine(actions.grad, fd) > 0.999
    assert float((actions.grad.reshape(-1) - fd).norm() / fd.norm()) < 1e-2


def test_muscle_legs_gradient_through_activation_state_matches_centred_difference():
    """d(return)/d(initial qvel and muscle activations): the activations are physics state that the
    FD Jacobians must carry from step to step (the reward's velocity terms see them only through
    the muscle forces of later steps)."""
    env = f64_env("muscle-legs", seed=2)
    state = env.get_state()
    nv = env.backend.nv
    qvel0 = state["qvel"].clone()
    qvel0[0, nv:] = torch.linspace(0.05, 0.6, 80, dtype=torch.float64)  # partly active muscles
    actions = 0.4 * torch.randn(5, 1, 80, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    qvel = qvel0.clone().requires_grad_(True)
    rollout_return(env, state, actions, qvel).backward()
    picked = list(range(0, 6)) + list(range(nv, nv + 80, 4))  # root velocities and 20 activations
    fd = centred_difference(lambda v: rollout_return(env, state, actions, v), qvel0, 1e-6, picked)
    analytic = qvel.grad.reshape(-1)[picked]
    act_fd, act_an = fd[6:], analytic[6:]
    assert torch.isfinite(qvel.grad).all() and act_fd.abs().max() > 1e-3  # the activations matter
    assert cosine(analytic, fd) > 0.999 and cosine(act_an, act_fd) > 0.999
    assert float((analytic - fd).norm() / fd.norm()) < 1e-2


def test_muscle_legs_observation_reward_termination_on_hand_built_state():
    task = get_task("muscle-legs")
    qpos, qvel = task.start_state()
    assert qpos.shape == (35,) and qvel.shape == (34 + 80,)
    model = task.build_model()
    qpos, qvel = qpos.unsqueeze(0).clone(), qvel.unsqueeze(0).clone()
    qpos[0, 0:3] = torch.tensor([2.0, 0.5, 0.9], dtype=torch.float64)
    qvel[0, 0:3] = torch.tensor([1.5, 0.0, 0.2], dtype=torch.float64)
    knee_r = model.joint("knee_angle_r")
    qpos[0, int(knee_r.qposadr[0])] = 0.7
    qvel[0, int(knee_r.dofadr[0])] = 3.0
    qvel[0, 34:] = torch.linspace(0.0, 1.0, 80, dtype=torch.float64)
    action = torch.zeros(1, 80, dtype=torch.float64)
    obs = task.observe(qpos, qvel, action)[0]
    assert obs.shape == (121,)
    assert float(obs[0]) == pytest.approx(0.9)
    np.testing.assert_allclose(obs[5:8].numpy(), [1.5, 0.2, 0.0], atol=1e-12)
    assert float(obs[11 + 3]) == pytest.approx(0.7)  # knee_angle_r is the 4th observed joint
    assert float(obs[25 + 3]) == pytest.approx(0.3)  # 0.1 x its velocity
    np.testing.assert_allclose(obs[41:].numpy(), qvel[0, 34:].numpy())
    heading = (10000.0 - 2.0) / math.hypot(10000.0 - 2.0, 0.5)
    assert float(obs[39]) == pytest.approx(1.0) and float(obs[40]) == pytest.approx(heading)
    penalty = 0.001 * float((qvel[0, 34:] ** 2).sum())
    assert float(task.reward(obs.unsqueeze(0), action)) == pytest.approx(1.5 + 0.1 + heading - penalty, abs=1e-12)
    np.testing.assert_allclose(task.control(torch.tensor([[-1.0, 0.0, 1.0]])).numpy(), [[0.0, 0.5, 1.0]])
    assert not bool(task.terminated(obs.unsqueeze(0)))
    obs[0] = 0.45
    assert bool(task.terminated(obs.unsqueeze(0)))


def test_muscle_legs_model_is_myolegs_with_activation_state():
    model = get_task("muscle-legs").build_model()
    assert (model.nq, model.nv, model.nu, model.na) == (35, 34, 80, 80)
    assert all(model.actuator_dyntype == mujoco.mjtDyn.mjDYN_MUSCLE)
    assert all(model.actuator_gaintype == mujoco.mjtGain.mjGAIN_MUSCLE)
    assert model.body_subtreemass[0] == pytest.approx(37.82, abs=0.01)
    env = DiffEnv("muscle-legs", 1, seed=0, stochastic_init=False)
    env.reset()
    with torch.no_grad():  # full excitation: activations rise towards 1 with the 10 ms time constant
        env.step(torch.ones(1, 80))
        obs, _, _, _ = env.step(torch.ones(1, 80))
    assert float(obs[0, 41:].min()) > 0.5 and float(obs[0, 41:].max()) <= 1.0


# ---- both tasks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "task,obs_dim,act_dim,max_return", [("quadruped", 49, 12, 12028.99), ("muscle-legs", 121, 80, 4246.04)]
)
def test_registry_and_gymnasium_version(task, obs_dim, act_dim, max_return):
    spec = get_spec(task)
    assert spec.family == "differentiable" and spec.episode_length == 1000 and spec.action_repeat == 1
    assert spec.max_return == pytest.approx(max_return)
    env = make(task, 0)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (obs_dim,) and obs.dtype == np.float32 and env.action_space.shape == (act_dim,)
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(obs, again)
    obs2, reward, terminated, truncated, _ = env.step(np.zeros(act_dim, np.float32))
    assert obs2.shape == (obs_dim,) and np.isfinite(reward)
    with pytest.raises(ValueError, match="non-finite"):
        env.step(np.full(act_dim, np.nan, np.float32))
    env.close()


def test_bad_input_raises():
    env = DiffEnv("quadruped", 2)
    env.reset()
    with pytest.raises(ValueError, match=r"shape \(2, 12\)"):
        env.step(torch.zeros(2, 8))
    with pytest.raises(ValueError, match="expected qpos"):
        env.backend.step(np.zeros((1, 19)), np.zeros((1, 19)), np.zeros((1, 12)))
    with pytest.raises(ValueError, match="unknown differentiable task"):
        DiffEnv("anymal", 1)

"""Meta-World tasks: TD-MPC2 semantics checked against the raw metaworld environment."""

import gymnasium as gym
import metaworld
import numpy as np
import pytest
from metaworld.policies import SawyerReachV3Policy

import pwm  # noqa: F401
from pwm.envs import get_spec, make, task_names
from pwm.envs.metaworld import TASKS
from pwm.evaluate import evaluate

# metaworld's scripted policies warn that their gains exceed the action range; we clip.
pytestmark = pytest.mark.filterwarnings("ignore:Constant\\(s\\) may be too high:UserWarning")


def test_fifty_tasks_registered_matching_metaworld():
    names = [n for n in task_names() if n.startswith("mw-")]
    assert len(names) == 50
    available = {k.removesuffix("-v3-goal-observable") for k in metaworld.ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE}
    assert {n.removeprefix("mw-") for n in names} == available == set(TASKS)
    spec = get_spec("mw-assembly")
    assert (spec.family, spec.domain, spec.score) == ("metaworld", "metaworld", "success")
    assert (spec.episode_length, spec.action_repeat) == (100, 2)


def _raw(name, seed):
    """The raw metaworld env driven exactly as the wrapper is documented to drive it."""
    env = metaworld.ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{name}-v3-goal-observable"](seed=seed)
    env._freeze_rand_vec = False
    env.seeded_rand_vec = True
    env.seed(seed)
    return env


def test_reset_step_and_action_repeat_match_raw_metaworld():
    env = make("mw-push", 5)
    obs, info = env.reset(seed=5)
    assert obs.shape == (39,) and obs.dtype == np.float32 and info["success"] == 0.0
    raw = _raw("push", 5)
    raw_obs, _ = raw.reset()
    np.testing.assert_array_equal(obs, raw_obs.astype(np.float32))
    raw.step(np.zeros(4, np.float32))  # TD-MPC2's silent zero-action step after reset
    rng = np.random.default_rng(0)
    for _ in range(10):
        action = rng.uniform(-1, 1, 4).astype(np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        o1, r1, *_ = raw.step(action.copy())
        o2, r2, _, _, raw_info = raw.step(action.copy())
        assert reward == pytest.approx(r1 + r2, abs=1e-12)
        np.testing.assert_array_equal(obs, o2.astype(np.float32))
        assert info["success"] == float(raw_info["success"])
        assert not terminated and not truncated
    assert raw.curr_path_length == env.sim.curr_path_length == 21


def test_reset_draws_new_positions_and_seed_reproduces_them():
    env = make("mw-reach", 0)
    a, _ = env.reset(seed=1)
    b, _ = env.reset()
    c, _ = env.reset(seed=1)
    d, _ = env.reset(seed=2)
    goal = slice(36, 39)  # goal position, the last 3 obs entries
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a[goal], b[goal]) and not np.array_equal(a[goal], d[goal])
    # Independent of numpy's global generator, and leaves it untouched.
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    e, _ = env.reset(seed=1)
    np.testing.assert_array_equal(a, e)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_episode_is_100_agent_steps_then_truncates():
    env = make("mw-reach", 0)
    env.reset(seed=0)
    steps, truncated = 0, False
    while not truncated:
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not terminated and np.isfinite(reward) and 0 <= reward <= 20 and np.all(np.isfinite(obs))
        steps += 1
    assert steps == 100
    env.reset(seed=1)  # the next episode starts fine (201 Meta-World steps used of 500)
    env.step(env.action_space.sample())


class RecordLastInfo(gym.Wrapper):
    """Keeps each episode's infos, to compare evaluate()'s success with the last step's."""

    def reset(self, **kwargs):
        self.episodes = getattr(self, "episodes", []) + [[]]
        return self.env.reset(**kwargs)

    def step(self, action):
        out = self.env.step(action)
        self.episodes[-1].append(out[-1]["success"])
        return out


def test_evaluate_reports_success_of_the_last_step():
    """A scripted reacher that reaches the goal and then leaves it: success mid-episode, not at the end."""
    scripted = SawyerReachV3Policy()
    t = {"step": 0}

    def reach_then_leave(obs):
        t["step"] += 1
        if (t["step"] - 1) % 100 < 60:
            return np.clip(scripted.get_action(obs.astype(np.float64)), -1, 1)
        return np.array([0.0, -1.0, 1.0, 0.0])

    env = RecordLastInfo(make("mw-reach", 0))
    result = evaluate(reach_then_leave, env, episodes=2, seed=0)
    assert result.episode_lengths == [100, 100]
    assert all(max(ep) == 1.0 for ep in env.episodes)  # the goal was reached ...
    assert result.successes == [ep[-1] for ep in env.episodes] == [0.0, 0.0]  # ... but not held
    assert result.episode_success == 0.0

    t["step"] = 0
    env = RecordLastInfo(make("mw-reach", 0))
    result = evaluate(lambda obs: np.clip(scripted.get_action(obs.astype(np.float64)), -1, 1), env, episodes=2, seed=0)
    assert result.successes == [ep[-1] for ep in env.episodes] == [1.0, 1.0]
    assert result.episode_success == 1.0

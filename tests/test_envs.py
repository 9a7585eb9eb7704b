"""The dm_control wrapper reproduces TD-MPC2's semantics against raw dm_control."""

import numpy as np
import pytest
from dm_control import suite

import pwm  # noqa: F401
from pwm.envs import get_spec, make, task_names


def test_names_follow_tdmpc2():
    names = task_names()
    for name in ["cartpole-balance", "walker-walk", "cup-catch", "cartpole-balance-sparse", "finger-turn-hard"]:
        assert name in names
    assert get_spec("cup-catch").domain == "ball_in_cup"


@pytest.mark.parametrize(
    "task,obs_dim,act_dim",
    [
        ("cartpole-balance", 5, 1),
        ("walker-walk", 24, 6),
        ("cup-catch", 8, 2),
        ("cheetah-run", 17, 6),
    ],
)
def test_spaces_match_tdmpc2_table(task, obs_dim, act_dim):
    env = make(task, 0)
    obs, info = env.reset(seed=0)
    assert obs.shape == (obs_dim,) and obs.dtype == np.float32
    assert env.observation_space.shape == (obs_dim,)
    assert env.action_space.shape == (act_dim,)
    assert np.all(env.action_space.low == -1) and np.all(env.action_space.high == 1)
    assert info["success"] == 0.0


def test_action_repeat_sums_two_control_steps():
    env = make("cartpole-swingup", 3)
    obs, _ = env.reset(seed=3)
    raw = suite.load("cartpole", "swingup", task_kwargs={"random": 3})
    raw.task._random = np.random.RandomState(3)
    ts = raw.reset()
    raw_obs = np.concatenate([np.asarray(v, np.float32).ravel() for v in ts.observation.values()])
    np.testing.assert_array_equal(obs, raw_obs)
    rng = np.random.default_rng(0)
    for _ in range(20):
        action = rng.uniform(-1, 1, size=1).astype(np.float32)
        obs, reward, terminated, truncated, _ = env.step(action)
        expected = raw.step(action).reward + raw.step(action).reward
        assert reward == pytest.approx(expected, abs=1e-12)
        assert not terminated and not truncated
    assert raw.physics.data.time == pytest.approx(env.physics.data.time)
    assert env.physics.data.time == pytest.approx(40 * raw.control_timestep())


def test_episode_is_500_agent_steps_and_truncates():
    env = make("reacher-easy", 1)
    env.reset(seed=1)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
        assert not terminated
        done = truncated
    assert steps == 500


def test_reset_seed_reproduces_initial_state():
    env = make("walker-walk", 0)
    a, _ = env.reset(seed=11)
    b, _ = env.reset(seed=12)
    c, _ = env.reset(seed=11)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_unknown_task_names_close_matches():
    with pytest.raises(ValueError, match="close matches: cartpole-balance"):
        make("cartpol-balance", 0)


def test_bad_seed_and_action():
    with pytest.raises(TypeError, match="seed must be an int"):
        make("cartpole-balance", "1")
    env = make("cartpole-balance", 0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="non-finite action"):
        env.step(np.array([np.nan], np.float32))


def test_scoring_table_gives_every_registered_task_its_score_rule():
    """pwm.envs.scoring (read by the analysis without the simulators) agrees with the registry."""
    from pwm.envs import scoring

    for name in task_names():
        spec = get_spec(name)
        assert scoring.score_kind(name) == spec.score, name
        if spec.score == "reward":
            assert scoring.max_return(name) == spec.max_return, name


def test_quadruped_tasks_run_on_numpy_2_4():
    """dm_control 1.0.28's quadruped calls np.in1d, gone from NumPy 2.4; pwm.envs.dm_control restores it
    with np.isin on the flattened input (`pwm-bench tasks` crashed on quadruped-escape before)."""
    env = make("quadruped-walk", 0)  # loads the families, so pwm.envs.dm_control
    assert np.array_equal(np.in1d([[1, 5], [2, 7]], [2, 5]), [False, True, True, False])
    assert np.array_equal(np.in1d([1, 5, 2], [2, 5], invert=True), [True, False, False])
    obs, _ = env.reset(seed=0)
    obs, reward, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
    assert obs.shape == env.observation_space.shape and np.isfinite(reward)

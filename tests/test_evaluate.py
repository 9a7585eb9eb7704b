"""The shared evaluation protocol: episode count, seeding, and agreement with a hand-written loop."""

import numpy as np
import pytest

from pwm.envs import make
from pwm.evaluate import episode_seeds, evaluate


def constant_policy(obs):
    return np.array([0.3], dtype=np.float32)


def test_matches_manual_rollouts():
    result = evaluate(constant_policy, "cartpole-balance", episodes=3, seed=5)
    env = make("cartpole-balance", 5)
    returns = []
    for s in episode_seeds(5, 3):
        env.reset(seed=s)
        total, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = env.step(constant_policy(None))
            total += r
            done = term or trunc
        returns.append(total)
    assert result.returns == pytest.approx(returns)
    assert result.episode_reward == pytest.approx(np.mean(returns))
    assert result.episode_lengths == [500, 500, 500]
    assert result.episode_success == 0.0


def test_episodes_differ_and_are_reproducible():
    a = evaluate(constant_policy, "cartpole-swingup", episodes=2, seed=1)
    b = evaluate(constant_policy, "cartpole-swingup", episodes=2, seed=1)
    assert a.returns == b.returns
    assert a.returns[0] != a.returns[1]  # different initial states


def test_rejects_bad_episode_count():
    with pytest.raises(ValueError, match="episodes must be a positive int"):
        evaluate(constant_policy, "cartpole-balance", episodes=0)


class ShortEpisodes:
    """Episodes of 2, 3, 2, 3... steps ending by ``terminated`` (no simulator)."""

    def __init__(self):
        self.episode, self.t = -1, 0

    def reset(self, seed=None):
        self.episode, self.t = self.episode + 1, 0
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        end = self.t == 2 + self.episode % 2
        return np.array([float(self.t)], dtype=np.float32), 1.0, end, False, {"success": 0.0}


def test_begin_episode_is_called_before_each_episodes_first_action():
    log = []

    class Policy:
        def begin_episode(self):
            log.append("begin")

        def __call__(self, obs):
            log.append(float(obs[0]))
            return np.zeros(1, dtype=np.float32)

    result = evaluate(Policy(), ShortEpisodes(), episodes=3, seed=0)
    assert result.episode_lengths == [2, 3, 2]
    assert log == ["begin", 0.0, 1.0, "begin", 0.0, 1.0, 2.0, "begin", 0.0, 1.0]

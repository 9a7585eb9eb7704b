"""The one evaluation protocol every algorithm uses.

Comparisons across algorithms are only fair if every number comes from the same procedure:
N fresh episodes (10 by default, as in TD-MPC2 and PWM), deterministic actions, the episode's
summed reward, and success read from the *last* step (TD-MPC2's Meta-World rule). Episode seeds
are derived from one evaluation seed so that an evaluation is reproducible and independent of the
training environment's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from pwm.envs import make

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass
class EvalResult:
    episode_reward: float  # mean over episodes of the summed reward
    episode_success: float  # mean over episodes of the final-step success
    returns: list[float] = field(default_factory=list)
    successes: list[float] = field(default_factory=list)
    episode_lengths: list[int] = field(default_factory=list)


def episode_seeds(seed: int, episodes: int) -> list[int]:
    return [int(s) for s in np.random.SeedSequence([seed, 2024]).generate_state(episodes)]


def evaluate(policy: Policy, task: str | gym.Env, episodes: int = 10, seed: int = 0) -> EvalResult:
    """Run ``episodes`` episodes of ``policy`` (obs -> action in [-1, 1]) and average them.

    ``task`` is a task name (a fresh environment is built and closed) or an environment to reuse.
    A policy with a ``begin_episode()`` method (a planner's warm start) has it called before each
    episode's first action, since episodes may end early by termination.
    """
    if not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive int, got {episodes!r}")
    env = make(task, seed) if isinstance(task, str) else task
    result = EvalResult(0.0, 0.0)
    begin_episode = getattr(policy, "begin_episode", None)
    try:
        for ep_seed in episode_seeds(seed, episodes):
            obs, info = env.reset(seed=ep_seed)
            if begin_episode is not None:
                begin_episode()
            total, length, done = 0.0, 0, False
            while not done:
                obs, reward, terminated, truncated, info = env.step(policy(obs))
                total += float(reward)
                length += 1
                done = terminated or truncated
            result.returns.append(total)
            result.successes.append(float(info.get("success", 0.0)))
            result.episode_lengths.append(length)
    finally:
        if isinstance(task, str):
            env.close()
    result.episode_reward = float(np.mean(result.returns))
    result.episode_success = float(np.mean(result.successes))
    return result

"""One environment over a list of tasks, padded to the largest obs and action dims (TD-MPC2).

A multitask world model has fixed input sizes, so every task's observation is zero-padded to the
suite maximum (mt30: 24, mt80: 39) and every action is given in the maximum action dim (6) and
sliced to the current task's own dims before stepping. Per-task obs dim, action dim and episode
length are exposed for the masks and discounts of multitask training, as in TD-MPC2's
MultitaskWrapper.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np


class MultitaskEnv(gym.Env):
    """Holds one environment per task; ``reset(task_idx)`` selects the task for the episode."""

    metadata = {"render_modes": []}

    def __init__(self, tasks: Sequence[str], envs: Sequence[gym.Env], episode_lengths: Sequence[int]):
        if not (len(tasks) == len(envs) == len(episode_lengths)) or not tasks:
            raise ValueError("tasks, envs and episode_lengths must be non-empty and of equal length")
        self.tasks = list(tasks)
        self.envs = list(envs)
        self.obs_dims = [int(env.observation_space.shape[0]) for env in self.envs]
        self.action_dims = [int(env.action_space.shape[0]) for env in self.envs]
        self.episode_lengths = [int(n) for n in episode_lengths]
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (max(self.obs_dims),), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (max(self.action_dims),), np.float32)
        self._task_idx = 0

    @classmethod
    def from_tasks(cls, tasks: Sequence[str], seed: int = 0) -> MultitaskEnv:
        """Build every task (suite names allowed, e.g. ["mt30"]) with the registry's factories."""
        from pwm.envs.registry import get_spec, make
        from pwm.envs.suites import expand_tasks

        names = expand_tasks(tasks)
        return cls(names, [make(name, seed) for name in names], [get_spec(name).episode_length for name in names])

    @property
    def task_idx(self) -> int:
        return self._task_idx

    @property
    def task(self) -> str:
        return self.tasks[self._task_idx]

    @property
    def env(self) -> gym.Env:
        return self.envs[self._task_idx]

    def _pad_obs(self, obs) -> np.ndarray:
        padded = np.zeros(self.observation_space.shape, dtype=np.float32)
        padded[: self.obs_dims[self._task_idx]] = obs
        return padded

    def reset(self, task_idx: int | None = None, *, seed: int | None = None, options: dict | None = None):
        """Start an episode of task ``task_idx`` (default: the current task)."""
        super().reset(seed=seed)
        if task_idx is not None:
            if not -len(self.tasks) <= task_idx < len(self.tasks):
                raise IndexError(f"task_idx {task_idx} out of range for {len(self.tasks)} tasks")
            self._task_idx = task_idx % len(self.tasks)
        obs, info = self.env.reset(seed=seed, options=options)
        return self._pad_obs(obs), dict(info, task_idx=self._task_idx)

    def step(self, action):
        action = np.asarray(action, dtype=np.float32).reshape(self.action_space.shape)
        obs, reward, terminated, truncated, info = self.env.step(action[: self.action_dims[self._task_idx]])
        return self._pad_obs(obs), reward, terminated, truncated, dict(info, task_idx=self._task_idx)

    def close(self):
        for env in self.envs:
            env.close()

"""dm_control tasks with TD-MPC2's wrapper semantics, as one gymnasium.Env.

TD-MPC2 (and so PWM's multitask data and checkpoints) sees dm_control through: actions rescaled
from [-1, 1] to the actuator range, observations flattened in spec order as float32, action repeat
2 with summed rewards, and a 500-agent-step episode that ends by truncation only. Reproducing those
choices exactly is what makes returns comparable with published TD-MPC2/PWM numbers.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from pwm.envs.registry import TaskSpec, register

if not hasattr(np, "in1d"):
    # dm_control 1.0.28's quadruped (quadruped-walk/run/escape/fetch) calls np.in1d, removed in NumPy 2.4
    # (the version snakemake-executor-plugin-slurm needs); restore it with its documented meaning.
    def _in1d(ar1, ar2, assume_unique=False, invert=False):
        return np.isin(np.asarray(ar1).ravel(), ar2, assume_unique=assume_unique, invert=invert)

    np.in1d = _in1d

DOMAIN_ALIASES = {"cup": "ball_in_cup", "pointmass": "point_mass"}
EPISODE_LENGTH = 500
ACTION_REPEAT = 2


def tdmpc2_name(domain: str, task: str) -> str:
    """dm_control (domain, task) -> TD-MPC2 task name, e.g. ('ball_in_cup', 'catch') -> 'cup-catch'."""
    inverse = {v: k for k, v in DOMAIN_ALIASES.items()}
    return f"{inverse.get(domain, domain)}-{task.replace('_', '-')}"


class DMControlEnv(gym.Env):
    """A dm_control environment behind the gymnasium API with TD-MPC2 semantics."""

    metadata = {"render_modes": []}

    def __init__(
        self, dm_env: Any, seed: int, episode_length: int = EPISODE_LENGTH, action_repeat: int = ACTION_REPEAT
    ):
        self._env = dm_env
        self.episode_length = episode_length
        self.action_repeat = action_repeat
        spec = dm_env.action_spec()
        self._act_low = spec.minimum.astype(np.float64)
        self._act_high = spec.maximum.astype(np.float64)
        obs_dim = sum(int(np.prod(s.shape)) for s in dm_env.observation_spec().values())
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, spec.shape, np.float32)
        self._seed(seed)
        self._t = 0

    def _seed(self, seed: int) -> None:
        # dm_control draws initial states from task.random; replacing it reseeds the env exactly.
        self._env.task._random = np.random.RandomState(seed)
        self.action_space.seed(seed)

    @staticmethod
    def _flatten(observation: dict) -> np.ndarray:
        return np.concatenate([np.asarray(v, dtype=np.float32).ravel() for v in observation.values()])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._seed(seed)
        self._t = 0
        return self._flatten(self._env.reset().observation), {"success": 0.0}

    def step(self, action):
        action = np.asarray(action, dtype=np.float64).reshape(self.action_space.shape)
        if not np.all(np.isfinite(action)):
            raise ValueError(f"non-finite action {action}")
        action = np.clip(action, -1.0, 1.0)
        scaled = self._act_low + (action + 1.0) * 0.5 * (self._act_high - self._act_low)
        reward = 0.0
        for _ in range(self.action_repeat):
            ts = self._env.step(scaled)
            reward += float(ts.reward or 0.0)
            if ts.last():
                break
        self._t += 1
        truncated = self._t >= self.episode_length or ts.last()
        return self._flatten(ts.observation), reward, False, truncated, {"success": 0.0}

    @property
    def physics(self):
        return self._env.physics


def make_dm_control(domain: str, task: str, seed: int) -> DMControlEnv:
    from dm_control import suite

    return DMControlEnv(suite.load(domain, task, task_kwargs={"random": seed}), seed)


def register_stock_tasks() -> None:
    """Register every task of dm_control's suite under its TD-MPC2 name."""
    from dm_control import suite

    for domain, task in suite.ALL_TASKS:
        register(
            TaskSpec(
                name=tdmpc2_name(domain, task),
                domain=domain,
                family="dm_control",
                factory=lambda seed, d=domain, t=task: make_dm_control(d, t, seed),
                episode_length=EPISODE_LENGTH,
                action_repeat=ACTION_REPEAT,
            )
        )

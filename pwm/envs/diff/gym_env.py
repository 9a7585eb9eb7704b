"""The differentiable tasks as ordinary gymnasium envs, registered in the harness's task registry.

SAC, PPO, TD-MPC2 and the shared evaluation protocol use these through ``pwm.envs.make(name,
seed)``: one env of a batched implementation (``DiffEnv``, or dflex's ``DflexEnv``, which
registers through :class:`DiffGymEnv` too) on the gradient-free path, float32 observations,
actions in [-1, 1], action repeat 1, ``terminated`` on early termination (or a blown-up
simulation, whose reward is 0), ``truncated`` at the episode length.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from pwm.envs.diff.batched import DiffEnv
from pwm.envs.diff.tasks import TASK_CLASSES
from pwm.envs.registry import TaskSpec, register

FAMILY = "differentiable"


class DiffGymEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, env, seed: int = 0):
        """``env``: a batched env of one (DiffEnv's interface, with ``reseed``) built with ``seed``."""
        self._env = env
        self.episode_length = env.episode_length
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (env.obs_dim,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (env.act_dim,), np.float32)
        self.action_space.seed(seed)
        self._started = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._env.reseed(int(seed))
            self.action_space.seed(seed)
        self._started = True
        return self._env.reset()[0].cpu().numpy().copy(), {"success": 0.0}

    def step(self, action):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        action = np.asarray(action, dtype=np.float32).reshape(self.action_space.shape)
        if not np.all(np.isfinite(action)):
            raise ValueError(f"non-finite action {action}")
        with torch.no_grad():
            _, reward, done, info = self._env.step(torch.from_numpy(action).unsqueeze(0))
        obs = info["obs_before_reset"][0].cpu().numpy().copy()
        terminated, truncated = bool(info["terminated"][0]), bool(info["truncated"][0])
        if terminated or truncated:
            self._started = False  # the batched env has already reset itself; make the caller do so too
        return obs, float(reward[0]), terminated, truncated, {"success": 0.0}

    def close(self):
        self._env.close()


def register_differentiable_tasks() -> None:
    for name, cls in TASK_CLASSES.items():
        register(
            TaskSpec(
                name=name,
                domain=name,
                family=FAMILY,
                factory=lambda seed, n=name: DiffGymEnv(DiffEnv(n, num_envs=1, seed=seed, threads=1), seed),
                episode_length=cls.episode_length,
                action_repeat=1,
                score="reward",
                max_return=float(cls.max_return),
                early_termination=bool(cls.early_termination),
            )
        )

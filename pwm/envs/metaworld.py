"""The 50 Meta-World tasks of MT80 (`mw-<name>`) with TD-MPC2's wrapper semantics.

TD-MPC2 used Meta-World v2 goal-observable environments; metaworld 3.1.1 ships the same 50
tasks as v3 goal-observable classes, whose default reward function version is still v2. The
wrapper reproduces TD-MPC2's choices: a new object/goal position on every reset (the random
vector is unfrozen), one silent zero-action step after reset (so the returned observation is
one simulator step stale, as in TD-MPC2's data), action repeat 2 with summed rewards, a
100-agent-step episode that ends by truncation only, float32 observations (39 dims), and
``info["success"]`` of the last environment step, which the evaluation protocol reads at the end
of the episode.

One deliberate difference: object/goal positions are drawn from the environment's own seeded
generator (``seeded_rand_vec``), not numpy's global one, so that ``reset(seed=s)`` reproduces an
episode exactly and no other code's randomness is disturbed.
"""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np

from pwm.envs.registry import TaskSpec, register
from pwm.envs.suites import METAWORLD_PREFIX as PREFIX
from pwm.envs.suites import METAWORLD_TASKS as TASKS  # TD-MPC2's MT80 order (task ids 30-79)

FAMILY = "metaworld"
EPISODE_LENGTH = 100
ACTION_REPEAT = 2


def env_id(name: str) -> str:
    """'assembly' -> metaworld's 'assembly-v3-goal-observable'."""
    return f"{name}-v3-goal-observable"


class MetaWorldEnv(gym.Env):
    """One Meta-World v3 goal-observable task behind the gymnasium API with TD-MPC2 semantics."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        name: str,
        seed: int,
        episode_length: int = EPISODE_LENGTH,
        action_repeat: int = ACTION_REPEAT,
        stale_reset_step: bool = True,
    ):
        from metaworld import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE

        if env_id(name) not in ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE:
            raise ValueError(f"metaworld has no task {env_id(name)!r}")
        self.name = name
        self.episode_length = episode_length
        self.action_repeat = action_repeat
        self.stale_reset_step = stale_reset_step
        self._env = ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[env_id(name)](seed=seed)
        self._env._freeze_rand_vec = False  # new object and goal positions on every reset
        self._env.seeded_rand_vec = True  # ... drawn from the env's own generator
        steps_needed = 1 + episode_length * action_repeat
        if steps_needed > self._env.max_path_length:
            raise ValueError(
                f"episode needs {steps_needed} Meta-World steps, more than its "
                f"max_path_length {self._env.max_path_length}"
            )
        obs_dim = self._env.observation_space.shape[0]
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, self._env.action_space.shape, np.float32)
        self._seed(seed)
        self._t = 0

    def _seed(self, seed: int) -> None:
        self._env.seed(seed)
        self.action_space.seed(seed)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._seed(seed)
        obs, _ = self._env.reset()
        if self.stale_reset_step:
            self._env.step(np.zeros(self._env.action_space.shape, dtype=np.float32))
        self._t = 0
        return obs.astype(np.float32), {"success": 0.0}

    def step(self, action):
        action = np.asarray(action, dtype=np.float32).reshape(self.action_space.shape)
        if not np.all(np.isfinite(action)):
            raise ValueError(f"non-finite action {action}")
        action = np.clip(action, -1.0, 1.0)
        reward = 0.0
        for _ in range(self.action_repeat):
            obs, r, _, _, info = self._env.step(action.copy())
            reward += float(r)
        self._t += 1
        info = dict(info, success=float(info["success"]))
        return obs.astype(np.float32), reward, False, self._t >= self.episode_length, info

    @property
    def sim(self):
        """The underlying metaworld environment (MuJoCo model and data, evaluate_state)."""
        return self._env

    def close(self):
        self._env.close()


def make_metaworld(name: str, seed: int) -> MetaWorldEnv:
    return MetaWorldEnv(name, seed)


@functools.cache
def metaworld_task_specs() -> tuple[TaskSpec, ...]:
    return tuple(
        TaskSpec(
            name=PREFIX + name,
            domain="metaworld",
            family=FAMILY,
            factory=functools.partial(make_metaworld, name),
            episode_length=EPISODE_LENGTH,
            action_repeat=ACTION_REPEAT,
            score="success",
        )
        for name in TASKS
    )


def register_metaworld_tasks() -> None:
    """Register the 50 tasks without importing metaworld (it is imported when one is built)."""
    for spec in metaworld_task_specs():
        register(spec)

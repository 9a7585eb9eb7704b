"""What a differentiable task is: a model, an initial-state distribution, and torch formulas.

Observation, reward and termination are plain torch functions of the physics state (qpos, qvel)
and of the clipped action, so gradients flow through them into the physics step. They follow
DiffRL's dflex tasks term by term; dflex's world is y-up while MuJoCo's is z-up, and the
free-body tasks express their observations in dflex's frame so the numbers mean the same thing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import mujoco
import torch

from pwm.envs.diff import models
from pwm.envs.scoring import DEFAULT_MAX_RETURN


class DiffTask(ABC):
    name: str
    obs_dim: int
    act_dim: int
    episode_length: int = 1000
    early_termination: bool = True
    # The score normaliser registered with the harness (TaskSpec.max_return): pwm.envs.scoring's table.
    max_return: float = DEFAULT_MAX_RETURN

    def __init__(self):
        self._qpos0 = None

    def build_model(self, substeps: int = models.DEFAULT_SUBSTEPS) -> mujoco.MjModel:
        model = models.BUILDERS[self.name](substeps)
        self._qpos0 = torch.as_tensor(model.qpos0.copy(), dtype=torch.float64)
        return model

    @property
    def qpos0(self) -> torch.Tensor:
        """The model's reference configuration (slide joints measure displacement from it)."""
        if self._qpos0 is None:
            self.build_model()
        return self._qpos0

    @abstractmethod
    def start_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """dflex's fixed start state (qpos [nq], qvel [nv]), before stochastic-init noise."""

    @abstractmethod
    def init_noise(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Initial states of ``n`` episodes with dflex's stochastic-init noise: [n, nq], [n, nv]."""

    @abstractmethod
    def observe(self, qpos: torch.Tensor, qvel: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """[N, obs_dim] from the state after a step and the (clipped) action that led to it."""

    @abstractmethod
    def reward(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """[N] reward of the transition that produced ``obs`` under ``action``."""

    def terminated(self, obs: torch.Tensor) -> torch.Tensor:
        """[N] bool: early termination (only used when the env's ``early_termination`` is on)."""
        return torch.zeros(obs.shape[0], dtype=torch.bool, device=obs.device)

    def control(self, action: torch.Tensor) -> torch.Tensor:
        """MuJoCo ctrl from the clipped action: the models' gears carry dflex's action strengths."""
        return action


def uniform(generator: torch.Generator, shape, scale: float) -> torch.Tensor:
    """U(-scale, scale), float64."""
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2.0 - 1.0) * scale

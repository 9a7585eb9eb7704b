"""Cart-pole swing-up (dflex's CartPoleSwingUp)."""

from __future__ import annotations

import math

import torch

from pwm.envs.diff.task import DiffTask, uniform
from pwm.envs.scoring import MAX_RETURNS


def wrap_angle(theta: torch.Tensor) -> torch.Tensor:
    """To [-π, π), as dflex's normalize_angle."""
    return torch.remainder(theta + math.pi, 2.0 * math.pi) - math.pi


class CartPole(DiffTask):
    """obs 5 = [x, ẋ, sin θ, cos θ, θ̇] (θ = 0 upright), 1 action (cart force 1000·a),
    reward -(θ² + 0.1 θ̇² + 0.05 x² + 0.1 ẋ²) with θ wrapped to [-π, π), 240-step episodes, no
    early termination. Starts hanging (θ = -π) with q ± π/2 and velocities ± 0.25 of noise.

    The return is never positive, so ``max_return`` is a scale, not a maximum: 240·π² ≈ 2368.7,
    the cost of hanging still for a whole episode; the harness's score (return / max_return) is
    then about -1 for a pole left hanging and approaches 0 from below for a fast swing-up.

    Deviations from dflex: MuJoCo physics (implicitfast, 2 substeps instead of 4); the rail limit
    ±4 m is a MuJoCo soft limit (dflex: a penalty spring); dm_control's cartpole.xml with dflex's
    masses and inertia; the NaN guard; FD gradients. See docs/differentiable-envs.md.
    """

    name, obs_dim, act_dim = "cartpole", 5, 1
    episode_length = 240
    early_termination = False
    max_return = MAX_RETURNS["cartpole"]

    def start_state(self):
        return (torch.tensor([0.0, -math.pi], dtype=torch.float64), torch.zeros(2, dtype=torch.float64))

    def init_noise(self, n, generator):
        qpos, qvel = self.start_state()
        return (qpos + uniform(generator, (n, 2), math.pi / 2.0), qvel + uniform(generator, (n, 2), 0.25))

    def observe(self, qpos, qvel, action):
        x, theta = qpos[:, 0:1], qpos[:, 1:2]
        return torch.cat([x, qvel[:, 0:1], torch.sin(theta), torch.cos(theta), qvel[:, 1:2]], -1)

    def reward(self, obs, action):
        theta = wrap_angle(torch.atan2(obs[:, 2], obs[:, 3]))
        return -(theta**2 + 0.1 * obs[:, 4] ** 2 + 0.05 * obs[:, 0] ** 2 + 0.1 * obs[:, 1] ** 2)

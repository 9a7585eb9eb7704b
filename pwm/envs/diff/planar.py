"""Planar runners: Hopper and (Half-)Cheetah, whose root is x/z slides plus a pitch hinge.

dflex's observation is its joint coordinates without the root x, then all joint velocities:
``joint_q[1:] ++ joint_qd``. Slide coordinates in dflex are displacements from the start pose, so
the root height here is ``qpos[1] - qpos0[1]`` (gymnasium's hopper gives rootz ``ref=1.25``).
"""

from __future__ import annotations

import math

import torch

from pwm.envs.diff.task import DiffTask, uniform
from pwm.envs.scoring import MAX_RETURNS


class PlanarTask(DiffTask):
    root_noise: float  # root x/z and pitch
    joint_noise: float
    vel_noise: float

    def start_state(self):
        return self.qpos0.clone(), torch.zeros_like(self.qpos0)

    def init_noise(self, n, generator):
        qpos, qvel = self.start_state()
        qpos = qpos.expand(n, -1).clone()
        qpos[:, 0:3] += uniform(generator, (n, 3), self.root_noise)
        qpos[:, 3:] += uniform(generator, (n, qpos.shape[1] - 3), self.joint_noise)
        qvel = uniform(generator, (n, qvel.shape[0]), self.vel_noise)
        return qpos, qvel

    def observe(self, qpos, qvel, action):
        height = qpos[:, 1:2] - self.qpos0[1]
        return torch.cat([height, qpos[:, 2:], qvel], -1)


class Hopper(PlanarTask):
    """dflex Hopper: obs 11 = [z, pitch, thigh, leg, foot, vx, vz, pitch', 3 joint velocities],
    3 actions (torque 200·a), reward v_x + height + angle - 0.1|a|², early termination z < -0.45.

    Height term: d = clip(z - (-0.45 + 0.15), -1, 0.3); -200 d² if d < 0, else d.
    Angle term: 1 - pitch² / (π/6)². Stochastic init: root x/z and pitch ±0.05, joints ±0.05,
    velocities ±0.05. ``max_return`` 4742.30 is PWM's PPO normaliser for dflex Hopper (the maximum
    of PPO's IQM curve); scores on this MuJoCo port are comparable to the paper's only roughly.

    Deviations from dflex: MuJoCo physics (implicitfast, 2 substeps, soft contacts and limits,
    no contact_ke/kd/kf); gymnasium's hopper.xml geometry; root joints without armature (dflex: 1);
    friction 0.9 on all geoms including the foot; FD gradients. See docs/differentiable-envs.md.
    """

    name, obs_dim, act_dim = "hopper", 11, 3
    max_return = MAX_RETURNS["hopper"]
    termination_height = -0.45
    termination_height_tolerance = 0.15
    termination_angle = math.pi / 6.0
    action_penalty = 0.1
    root_noise = joint_noise = vel_noise = 0.05

    def reward(self, obs, action):
        d = torch.clip(obs[:, 0] - (self.termination_height + self.termination_height_tolerance), -1.0, 0.3)
        height = torch.where(d < 0.0, -200.0 * d * d, d)
        angle = 1.0 - obs[:, 1] ** 2 / self.termination_angle**2
        return obs[:, 5] + height + angle - self.action_penalty * (action**2).sum(-1)

    def terminated(self, obs):
        return obs[:, 0] < self.termination_height


class Cheetah(PlanarTask):
    """dflex Cheetah: obs 17 = [z, pitch, 6 joints, 9 velocities], 6 actions (torque 200·a),
    reward v_x - 0.1|a|², no early termination. Stochastic init: root x/z and pitch ±0.1, joints
    ±0.1, velocities ±0.25. ``max_return`` 10000 is a plain scale (no published dflex normaliser).

    Deviations from dflex: MuJoCo physics (as for Hopper); gymnasium's half_cheetah.xml and its
    start pose; FD gradients. See docs/differentiable-envs.md."""

    name, obs_dim, act_dim = "cheetah", 17, 6
    early_termination = False
    max_return = MAX_RETURNS["cheetah"]
    action_penalty = 0.1
    root_noise = joint_noise = 0.1
    vel_noise = 0.25

    def reward(self, obs, action):
        return obs[:, 8] - self.action_penalty * (action**2).sum(-1)

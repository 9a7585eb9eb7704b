"""Free-floating runners: Ant and Humanoid, whose root is a free joint.

dflex's observation (y-up world): height, torso quaternion (x, y, z, w), torso-origin linear
velocity, world angular velocity, joint angles, 0.1 × joint velocities, the up vector's vertical
component, the heading vector's alignment with the direction to a far target on +x, and the
action just applied. ``frames.py`` converts MuJoCo's z-up quantities to that frame; MuJoCo's
free-joint linear velocity is already the torso origin's, and its angular velocity is in the body
frame, so it is rotated to the world.
"""

from __future__ import annotations

import math

import torch

from pwm.envs.diff import frames
from pwm.envs.diff.task import DiffTask, uniform
from pwm.envs.scoring import MAX_RETURNS


class FreeBodyTask(DiffTask):
    start_height: float
    start_joints: tuple[float, ...] | None = None  # None: the model's reference pose
    target_distance: float
    joint_vel_scale = 0.1
    termination_height: float

    def start_state(self):
        qpos = self.qpos0.clone()
        qpos[0:3] = torch.tensor([0.0, 0.0, self.start_height], dtype=torch.float64)
        qpos[3:7] = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
        if self.start_joints is not None:
            qpos[7:] = torch.tensor(self.start_joints, dtype=torch.float64)
        return qpos, torch.zeros(qpos.shape[0] - 1, dtype=torch.float64)

    def init_noise(self, n, generator):
        """Root position ±0.1, rotation by ±π/24 about a random axis, joints ±0.2, velocities ±0.25."""
        qpos, qvel = self.start_state()
        qpos = qpos.expand(n, -1).clone()
        qpos[:, 0:3] += uniform(generator, (n, 3), 0.1)
        angle = uniform(generator, (n,), math.pi / 24.0)
        axis = torch.rand((n, 3), generator=generator, dtype=torch.float64) - 0.5
        qpos[:, 3:7] = frames.quat_mul(qpos[:, 3:7], frames.quat_from_axis_angle(axis, angle))
        qpos[:, 7:] += uniform(generator, (n, qpos.shape[1] - 7), 0.2)
        qvel = uniform(generator, (n, qvel.shape[0]), 0.25)
        return qpos, qvel

    def observe(self, qpos, qvel, action):
        pos, quat = qpos[:, 0:3], qpos[:, 3:7]
        lin_vel = qvel[:, 0:3]
        ang_vel = frames.quat_rotate(quat, qvel[:, 3:6])
        ex = torch.zeros_like(pos)
        ex[:, 0] = 1.0
        ez = torch.zeros_like(pos)
        ez[:, 2] = 1.0
        up_z = frames.quat_rotate(quat, ez)[:, 2:3]
        heading = frames.quat_rotate(quat, ex)
        to_target = torch.stack([self.target_distance - pos[:, 0], -pos[:, 1], torch.zeros_like(pos[:, 0])], -1)
        heading_proj = (heading * torch.nn.functional.normalize(to_target, dim=-1)).sum(-1, keepdim=True)
        return torch.cat(
            [
                pos[:, 2:3],  # 0: height
                frames.to_dflex_quat_xyzw(quat),  # 1:5
                frames.to_dflex_vec(lin_vel),  # 5:8, obs[5] = forward velocity
                frames.to_dflex_vec(ang_vel),  # 8:11
                qpos[:, 7:],
                self.joint_vel_scale * qvel[:, 6:],
                up_z,
                heading_proj,
                action.to(qpos.dtype),
            ],
            -1,
        )

    def terminated(self, obs):
        return obs[:, 0] < self.termination_height


class Ant(FreeBodyTask):
    """dflex Ant: obs 37 (layout in ``FreeBodyTask.observe``; up at 27, heading at 28, actions
    29:37), 8 actions (torque 200·a, in joint order hip_1, ankle_1, ..., ankle_4), reward
    v_x + 0.1·up + heading + (height - 0.27), early termination height < 0.27. Start height 0.75,
    start joints [0, 1, 0, -1, 0, -1, 0, 1], target 10000 m along +x. ``max_return`` 6604.66 is
    PWM's PPO normaliser for dflex Ant (roughly comparable on this MuJoCo port).

    Deviations from dflex: MuJoCo physics (implicitfast, 2 substeps instead of 16, soft contacts,
    no contact_ke/kd/kf); gymnasium's ant.xml geometry; angular-velocity init noise in the body
    frame; the NaN guard; FD gradients. See docs/differentiable-envs.md."""

    name, obs_dim, act_dim = "ant", 37, 8
    max_return = MAX_RETURNS["ant"]
    start_height = 0.75
    start_joints = (0.0, 1.0, 0.0, -1.0, 0.0, -1.0, 0.0, 1.0)
    target_distance = 10000.0
    termination_height = 0.27

    def reward(self, obs, action):
        return obs[:, 5] + 0.1 * obs[:, 27] + obs[:, 28] + (obs[:, 0] - self.termination_height)


class Humanoid(FreeBodyTask):
    """dflex Humanoid: obs 76 (up at 53, heading at 54, actions 55:76), 21 actions
    (torque 0.35·strength_j·a), reward v_x + 0.1·up + heading + height - 0.002|a|² with
    d = clip(height - 0.84, -1, 0.1), height = -200 d² if d < 0 else 10 d; termination
    height < 0.74 (always on). Start height 1.35, target 200 m. ``max_return`` 7292.79 is PWM's PPO
    normaliser for dflex Humanoid (roughly comparable on this MuJoCo port).

    Deviations from dflex: MuJoCo physics (implicitfast, 2 substeps instead of 48, soft contacts);
    dm_control's humanoid.xml with its joint ranges and big-joint stiffness/damping, armature 0.007
    on all hinges; angular-velocity init noise in the body frame; FD gradients. See
    docs/differentiable-envs.md."""

    name, obs_dim, act_dim = "humanoid", 76, 21
    max_return = MAX_RETURNS["humanoid"]
    start_height = 1.35
    target_distance = 200.0
    termination_height = 0.74
    termination_tolerance = 0.1
    height_scale = 10.0
    action_penalty = 0.002

    def reward(self, obs, action):
        d = torch.clip(
            obs[:, 0] - (self.termination_height + self.termination_tolerance), -1.0, self.termination_tolerance
        )
        height = torch.where(d < 0.0, -200.0 * d * d, self.height_scale * d)
        return obs[:, 5] + 0.1 * obs[:, 53] + obs[:, 54] + height - self.action_penalty * (action**2).sum(-1)

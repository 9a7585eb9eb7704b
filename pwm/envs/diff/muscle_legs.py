"""``muscle-legs``: SNU-Humanoid-style walking with 80 muscles (PWM's SNU Humanoid place).

The task is dflex's SNU Humanoid term by term where the model allows; the body is MyoSuite's
myolegs (``muscle_legs_model.py`` says what it is and why). Unlike dflex's SNU muscles, these have
activation dynamics: the activations are physics state, carried after qvel (``backend.py``),
differentiated by the FD Jacobians, and observed.
"""

from __future__ import annotations

import math

import torch

from pwm.envs.diff import frames, muscle_legs_model
from pwm.envs.diff.free_body import FreeBodyTask
from pwm.envs.diff.task import uniform
from pwm.envs.scoring import MAX_RETURNS


class MuscleLegs(FreeBodyTask):
    """SNU-style walking on MyoSuite's legs: obs 121 = [height, root quaternion (x, y, z, w,
    dflex's y-up frame), linear velocity (3), angular velocity (3), 14 joint angles, 0.1 × their
    velocities, up, heading, 80 muscle activations] (up at 39, heading at 40, activations 41:121);
    80 actions a ∈ [-1, 1] mapped to muscle excitations u = 0.5·a + 0.5 ∈ [0, 1] (SNU's map);
    reward v_x + 0.1·up + heading - 0.001·Σ act² (act = the activations after the step);
    early termination when the pelvis is below 0.46 m (SNU's height); 1000 steps of 1/60 s.
    Stochastic init: root x/y ±0.1 and height +0…0.1, rotation ±π/24 about a random axis, no joint
    noise (as SNU), root and joint velocities ±0.25, activations 0.

    Deviations from dflex's SNU Humanoid: 80 Hill-type muscles with force-length/velocity curves
    and activation dynamics (SNU: 152 path forces activation·f0, no dynamics) on the legs and pelvis
    of Rajagopal's model (SNU: a DART lower body with a torso, 22 joint coordinates); obs 121
    instead of 53 (14 joints instead of 22, plus the activations, which are state here); the
    penalty is on activations (SNU: 0.001·Σ|a| on actions); the root height noise is upward only
    (the heels start on the floor); MuJoCo physics (implicitfast, 2 substeps instead of 48, soft
    contacts, no leg-leg collisions), FD gradients. ``max_return`` 4246.04 is PWM's PPO
    normaliser for SNU Humanoid; scores here are only roughly comparable."""

    name, obs_dim, act_dim = "muscle-legs", 121, 80
    max_return = MAX_RETURNS["muscle-legs"]
    start_height = muscle_legs_model.START_HEIGHT
    target_distance = 10000.0
    termination_height = 0.46
    activation_penalty = 0.001
    num_muscles = 80

    def __init__(self):
        super().__init__()
        self._joint_q = self._joint_v = None

    def build_model(self, substeps=muscle_legs_model.models.DEFAULT_SUBSTEPS):
        model = super().build_model(substeps)
        ids = [model.joint(name).id for name in muscle_legs_model.INDEPENDENT_JOINTS]
        self._joint_q = [int(model.jnt_qposadr[j]) for j in ids]
        self._joint_v = [int(model.jnt_dofadr[j]) for j in ids]
        self._nv = model.nv
        return model

    def _indices(self):
        if self._joint_q is None:
            self.build_model()
        return self._joint_q, self._joint_v

    def start_state(self):
        qpos = self.qpos0.clone()  # root at START_HEIGHT, identity quaternion, the files' joint pose
        self._indices()
        return qpos, torch.zeros(self._nv + self.num_muscles, dtype=torch.float64)

    def init_noise(self, n, generator):
        qpos, qvel = self.start_state()
        _, joint_v = self._indices()
        qpos = qpos.expand(n, -1).clone()
        qpos[:, 0:2] += uniform(generator, (n, 2), 0.1)
        qpos[:, 2] += 0.05 + uniform(generator, (n,), 0.05)
        angle = uniform(generator, (n,), math.pi / 24.0)
        axis = torch.rand((n, 3), generator=generator, dtype=torch.float64) - 0.5
        qpos[:, 3:7] = frames.quat_mul(qpos[:, 3:7], frames.quat_from_axis_angle(axis, angle))
        qvel = qvel.expand(n, -1).clone()
        dofs = list(range(6)) + joint_v  # not the knee-coupling dofs, which equality constraints tie
        qvel[:, dofs] = uniform(generator, (n, len(dofs)), 0.25)
        return qpos, qvel

    def control(self, action):
        return 0.5 * action + 0.5

    def observe(self, qpos, qvel, action):
        joint_q, joint_v = self._indices()
        pos, quat = qpos[:, 0:3], qpos[:, 3:7]
        ang_vel = frames.quat_rotate(quat, qvel[:, 3:6])
        ex = torch.zeros_like(pos)
        ex[:, 0] = 1.0
        ez = torch.zeros_like(pos)
        ez[:, 2] = 1.0
        heading = frames.quat_rotate(quat, ex)
        to_target = torch.stack([self.target_distance - pos[:, 0], -pos[:, 1], torch.zeros_like(pos[:, 0])], -1)
        return torch.cat(
            [
                pos[:, 2:3],  # 0: pelvis height
                frames.to_dflex_quat_xyzw(quat),  # 1:5
                frames.to_dflex_vec(qvel[:, 0:3]),  # 5:8, obs[5] = forward velocity
                frames.to_dflex_vec(ang_vel),  # 8:11
                qpos[:, joint_q],  # 11:25
                self.joint_vel_scale * qvel[:, joint_v],  # 25:39
                frames.quat_rotate(quat, ez)[:, 2:3],  # 39: up
                (heading * torch.nn.functional.normalize(to_target, dim=-1)).sum(-1, keepdim=True),  # 40
                qvel[:, self._nv :],  # 41:121 muscle activations
            ],
            -1,
        )

    def reward(self, obs, action):
        return obs[:, 5] + 0.1 * obs[:, 39] + obs[:, 40] - self.activation_penalty * (obs[:, 41:] ** 2).sum(-1)

"""``quadruped``: an Anymal-style forward-running task on a 12-joint quadruped (PWM's Anymal place).

The task is dflex Anymal's (PWM's DiffRL fork) term by term; the robot is dm_control's quadruped
edited to 12 torque-driven joints (``quadruped_model.py`` says how and what differs from ANYmal).
"""

from __future__ import annotations

from pwm.envs.diff import quadruped_model
from pwm.envs.diff.free_body import FreeBodyTask
from pwm.envs.scoring import MAX_RETURNS


class Quadruped(FreeBodyTask):
    """Anymal-style task: obs 49 = [height, torso quaternion (x, y, z, w, dflex's y-up frame),
    linear velocity (3), angular velocity (3), 12 joint angles, 0.1 × 12 joint velocities, up,
    heading, 12 previous actions] (Anymal's layout: up at 35, heading at 36, actions 37:49);
    12 actions (torque 100·a on hip yaw, hip pitch, knee of each leg, in the order front-left,
    front-right, back-right, back-left); reward v_x + 0.1·up + heading + (height - 0.3)
    - 0.005·|a|²; early termination height < 0.3; 1000 steps of 1/60 s. Stochastic init as dflex's
    Ant/Anymal: root ±0.1, rotation ±π/24 about a random axis, joints ±0.2, velocities ±0.25.

    Deviations from dflex's Anymal: the body (dm_control's quadruped at 50 kg, not ANYmal C; see
    ``quadruped_model``), termination height 0.3 instead of 0.25 (this torso lies on the floor at
    0.2 and stands at 0.60, Anymal's at about 0.5), gear 100 instead of 200, MuJoCo physics
    (implicitfast, 2 substeps instead of 16, soft contacts), FD gradients. ``max_return`` 12028.99
    is PWM's PPO normaliser for dflex Anymal; scores on this robot are only roughly comparable."""

    name, obs_dim, act_dim = "quadruped", 49, 12
    max_return = MAX_RETURNS["quadruped"]
    start_height = quadruped_model.START_HEIGHT
    start_joints = quadruped_model.START_JOINTS
    target_distance = 10000.0
    termination_height = 0.3
    action_penalty = 0.005

    def reward(self, obs, action):
        return (
            obs[:, 5]
            + 0.1 * obs[:, 35]
            + obs[:, 36]
            + (obs[:, 0] - self.termination_height)
            - self.action_penalty * (action**2).sum(-1)
        )

"""Ball-in-cup spin (TD-MPC2 custom task): swing the ball fast and far around the cup.

The ball starts inside the cup 90% of the time, so the agent must first get it out; the reward
is zero while the ball is in the cup.
"""

from __future__ import annotations

import numpy as np
from dm_control.rl import control
from dm_control.suite import ball_in_cup, base
from dm_control.utils import rewards

DISTANCE_TARGET = 0.5  # m from the target site, for the distance term to pay in full
SPEED_TARGET = 6.0  # m/s of the ball, for the speed term to pay in full
START_OUTSIDE_PROBABILITY = 0.1


class Spin(ball_in_cup.BallInCup):
    def initialize_episode(self, physics):
        # Rejection-sample a collision-free ball position; inside the cup unless this episode
        # is one of the 10% that start anywhere.
        start_anywhere = self.random.uniform() < START_OUTSIDE_PROBABILITY
        while True:
            physics.named.data.qpos["ball_x"] = self.random.uniform(-0.2, 0.2)
            physics.named.data.qpos["ball_z"] = self.random.uniform(0.2, 0.5)
            physics.after_reset()
            if physics.data.ncon == 0 and (start_anywhere or physics.in_target()):
                break
        base.Task.initialize_episode(self, physics)

    def get_reward(self, physics):
        distance = np.linalg.norm(physics.ball_to_target())
        speed = np.linalg.norm(physics.named.data.qvel[["ball_x", "ball_z"]])
        far = rewards.tolerance(
            distance,
            bounds=(DISTANCE_TARGET, float("inf")),
            margin=DISTANCE_TARGET / 2,
            value_at_margin=0.5,
            sigmoid="linear",
        )
        fast = rewards.tolerance(
            speed, bounds=(SPEED_TARGET, float("inf")), margin=SPEED_TARGET / 2, value_at_margin=0.5, sigmoid="linear"
        )
        return (1 - physics.in_target()) * (far + 2 * fast) / 3


def spin(time_limit=ball_in_cup._DEFAULT_TIME_LIMIT, random=None, environment_kwargs=None):
    physics = ball_in_cup.Physics.from_xml_string(*ball_in_cup.get_model_and_assets())
    return control.Environment(
        physics,
        Spin(random=random),
        time_limit=time_limit,
        control_timestep=ball_in_cup._CONTROL_TIMESTEP,
        **(environment_kwargs or {}),
    )


DOMAIN = ball_in_cup
TASKS = {"spin": spin}

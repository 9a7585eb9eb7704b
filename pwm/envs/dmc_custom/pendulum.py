"""Pendulum spin (TD-MPC2 custom task): swing-up initial states, reward for rotation speed.

Balancing upright earns nothing; the reward rises linearly with |angular velocity| (either direction) to 1 at 9 rad/s.
"""

from __future__ import annotations

import numpy as np
from dm_control.rl import control
from dm_control.suite import pendulum
from dm_control.utils import rewards

SPIN_SPEED = 9.0  # rad/s


class Spin(pendulum.SwingUp):
    def get_reward(self, physics):
        return rewards.tolerance(
            float(np.linalg.norm(physics.angular_velocity())),
            bounds=(SPIN_SPEED, float("inf")),
            margin=SPIN_SPEED / 2,
            value_at_margin=0.5,
            sigmoid="linear",
        )


def spin(time_limit=pendulum._DEFAULT_TIME_LIMIT, random=None, environment_kwargs=None):
    physics = pendulum.Physics.from_xml_string(*pendulum.get_model_and_assets())
    return control.Environment(physics, Spin(random=random), time_limit=time_limit, **(environment_kwargs or {}))


DOMAIN = pendulum
TASKS = {"spin": spin}

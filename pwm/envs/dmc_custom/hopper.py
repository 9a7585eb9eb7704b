"""Hopper hopping backwards (TD-MPC2 custom task): stand tall and move at speed <= -1."""

from __future__ import annotations

from dm_control.rl import control
from dm_control.suite import hopper
from dm_control.utils import rewards

BACKWARDS_SPEED = hopper._HOP_SPEED / 2  # 1 m/s backwards pays in full


class HopBackwards(hopper.Hopper):
    def __init__(self, random=None):
        super().__init__(hopping=True, random=random)

    def get_reward(self, physics):
        standing = rewards.tolerance(physics.height(), (hopper._STAND_HEIGHT, 2))
        hopping = rewards.tolerance(
            physics.speed(),
            bounds=(-float("inf"), -BACKWARDS_SPEED),
            margin=BACKWARDS_SPEED / 2,
            value_at_margin=0.5,
            sigmoid="linear",
        )
        return standing * hopping


def hop_backwards(time_limit=hopper._DEFAULT_TIME_LIMIT, random=None, environment_kwargs=None):
    # The stock hopper model: hopping backwards needs no model change.
    physics = hopper.Physics.from_xml_string(*hopper.get_model_and_assets())
    return control.Environment(
        physics,
        HopBackwards(random=random),
        time_limit=time_limit,
        control_timestep=hopper._CONTROL_TIMESTEP,
        **(environment_kwargs or {}),
    )


DOMAIN = hopper
TASKS = {"hop_backwards": hop_backwards}

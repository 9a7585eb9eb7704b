"""Walker walking and running backwards (TD-MPC2 custom tasks).

The stock walker reward with the velocity bound mirrored: standing tall and upright is required,
and moving at -speed or faster (more negative) earns the full move bonus.
"""

from __future__ import annotations

from dm_control.rl import control
from dm_control.suite import walker
from dm_control.utils import rewards

from pwm.envs.dmc_custom import models


class BackwardsWalker(walker.PlanarWalker):
    """PlanarWalker whose move reward asks for horizontal velocity <= -move_speed."""

    def get_reward(self, physics):
        standing = rewards.tolerance(
            physics.torso_height(), bounds=(walker._STAND_HEIGHT, float("inf")), margin=walker._STAND_HEIGHT / 2
        )
        upright = (1 + physics.torso_upright()) / 2
        stand_reward = (3 * standing + upright) / 4
        move_reward = rewards.tolerance(
            physics.horizontal_velocity(),
            bounds=(-float("inf"), -self._move_speed),
            margin=self._move_speed / 2,
            value_at_margin=0.5,
            sigmoid="linear",
        )
        return stand_reward * (5 * move_reward + 1) / 6


def _environment(move_speed, time_limit, random, environment_kwargs):
    physics = walker.Physics.from_xml_string(models.model("walker_wide_floor"), models.assets())
    return control.Environment(
        physics,
        BackwardsWalker(move_speed, random=random),
        time_limit=time_limit,
        control_timestep=walker._CONTROL_TIMESTEP,
        **(environment_kwargs or {}),
    )


def walk_backwards(time_limit=walker._DEFAULT_TIME_LIMIT, random=None, environment_kwargs=None):
    return _environment(walker._WALK_SPEED, time_limit, random, environment_kwargs)


def run_backwards(time_limit=walker._DEFAULT_TIME_LIMIT, random=None, environment_kwargs=None):
    return _environment(walker._RUN_SPEED, time_limit, random, environment_kwargs)


DOMAIN = walker
TASKS = {"walk_backwards": walk_backwards, "run_backwards": run_backwards}

"""Cheetah tasks of TD-MPC2: run backwards, run on the front or back foot, jump.

"Front"/"back" name the foot the cheetah runs on; the *other* foot must be raised. All use the
cheetah model with a floor twice as long, so that running backwards stays on drawn ground.
"""

from __future__ import annotations

from dm_control.rl import control
from dm_control.suite import cheetah
from dm_control.utils import rewards

from pwm.envs.dmc_custom import models

UP_HEIGHT = 1.2  # torso / raised-foot height (m) above which the height terms pay in full
RUN_BACKWARDS_SPEED = 8.0  # 0.8 x dm_control's run speed
ONE_FOOT_RUN_SPEED = 6.0  # 0.6 x dm_control's run speed
JUMP_MAX_SPEED = 0.5  # jumping in place: |speed| within this pays in full


def _height(physics, body: str) -> float:
    return float(physics.named.data.xpos[body, "z"])


def _high(value: float) -> float:
    return rewards.tolerance(value, bounds=(UP_HEIGHT, float("inf")), margin=UP_HEIGHT / 2)


def run_backwards_reward(physics) -> float:
    return rewards.tolerance(
        physics.speed(),
        bounds=(-float("inf"), -RUN_BACKWARDS_SPEED),
        margin=RUN_BACKWARDS_SPEED,
        value_at_margin=0,
        sigmoid="linear",
    )


def run_one_foot_reward(physics, raised_foot: str) -> float:
    """Raised foot and torso high (foot weighted 3:2), scaled by a forward-speed bonus."""
    up = (3 * _high(_height(physics, raised_foot)) + 2 * _high(_height(physics, "torso"))) / 5
    speed = rewards.tolerance(
        physics.speed(),
        bounds=(ONE_FOOT_RUN_SPEED, float("inf")),
        margin=ONE_FOOT_RUN_SPEED,
        value_at_margin=0,
        sigmoid="linear",
    )
    return up * (5 * speed + 1) / 6


def stand_one_foot_reward(physics, raised_foot: str) -> float:
    """Mean height of torso and raised foot high, while (nearly) not moving horizontally."""
    height = _high((_height(physics, "torso") + _height(physics, raised_foot)) / 2)
    still = rewards.tolerance(
        physics.speed(),
        bounds=(-JUMP_MAX_SPEED, JUMP_MAX_SPEED),
        margin=JUMP_MAX_SPEED,
        value_at_margin=0,
        sigmoid="linear",
    )
    return (5 * height + still) / 6


def jump_reward(physics) -> float:
    """Standing on the front foot and on the back foot at once is only possible in the air."""
    return (stand_one_foot_reward(physics, "bfoot") + stand_one_foot_reward(physics, "ffoot")) / 2


REWARDS = {
    "run_backwards": run_backwards_reward,
    "run_front": lambda physics: run_one_foot_reward(physics, "bfoot"),
    "run_back": lambda physics: run_one_foot_reward(physics, "ffoot"),
    "jump": jump_reward,
}


class CustomCheetah(cheetah.Cheetah):
    """Stock cheetah (same initial states and observations) with one of the rewards above."""

    def __init__(self, goal: str, random=None):
        super().__init__(random=random)
        self._reward = REWARDS[goal]

    def get_reward(self, physics):
        return self._reward(physics)


def _factory(goal: str):
    def make(time_limit=cheetah._DEFAULT_TIME_LIMIT, random=None, environment_kwargs=None):
        physics = cheetah.Physics.from_xml_string(models.model("cheetah_wide_floor"), models.assets())
        return control.Environment(
            physics, CustomCheetah(goal, random=random), time_limit=time_limit, **(environment_kwargs or {})
        )

    make.__name__ = goal
    return make


DOMAIN = cheetah
TASKS = {goal: _factory(goal) for goal in REWARDS}

"""Three-link reacher (TD-MPC2 custom tasks): dm_control's sparse reacher task on a 3-link arm.

Everything but the arm is stock: target radius 0.05 (easy) or 0.015 (hard), target placed
uniformly at 0.05-0.20 m from the shoulder, reward 1 while the finger touches the target, else 0.
"""

from __future__ import annotations

from dm_control.rl import control
from dm_control.suite import reacher

from pwm.envs.dmc_custom import models


def _environment(target_size, time_limit, random, environment_kwargs):
    physics = reacher.Physics.from_xml_string(models.model("reacher_three_links"), models.assets())
    return control.Environment(
        physics, reacher.Reacher(target_size, random=random), time_limit=time_limit, **(environment_kwargs or {})
    )


def three_easy(time_limit=reacher._DEFAULT_TIME_LIMIT, random=None, environment_kwargs=None):
    return _environment(reacher._BIG_TARGET, time_limit, random, environment_kwargs)


def three_hard(time_limit=reacher._DEFAULT_TIME_LIMIT, random=None, environment_kwargs=None):
    return _environment(reacher._SMALL_TARGET, time_limit, random, environment_kwargs)


DOMAIN = reacher
TASKS = {"three_easy": three_easy, "three_hard": three_hard}

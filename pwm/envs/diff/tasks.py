"""The differentiable tasks by registry name.

Names: ``hopper``, ``ant``, ``humanoid``, ``cheetah`` and ``cartpole``; the high-dimensional
``quadruped`` (PWM's Anymal place) and ``muscle-legs`` (its SNU Humanoid place). The cart-pole is called
``cartpole`` (not ``cartpole-swingup``) because ``cartpole-swingup`` is already dm_control's task
in the registry; the two are different systems (dflex's 10 kg pole and 1000 N cart force).
"""

from __future__ import annotations

from pwm.envs.diff.cartpole import CartPole
from pwm.envs.diff.free_body import Ant, Humanoid
from pwm.envs.diff.muscle_legs import MuscleLegs
from pwm.envs.diff.planar import Cheetah, Hopper
from pwm.envs.diff.quadruped import Quadruped
from pwm.envs.diff.task import DiffTask

TASK_CLASSES: dict[str, type[DiffTask]] = {
    cls.name: cls for cls in (Hopper, Ant, Humanoid, Cheetah, CartPole, Quadruped, MuscleLegs)
}


def get_task(name: str) -> DiffTask:
    try:
        return TASK_CLASSES[name]()
    except KeyError:
        raise ValueError(f"unknown differentiable task {name!r}; available: {', '.join(TASK_CLASSES)}") from None

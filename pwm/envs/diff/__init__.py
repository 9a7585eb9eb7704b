"""Differentiable locomotion tasks on MuJoCo (DiffRL/dflex's tasks, for SHAC and PWM).

Registry names: ``hopper`` (obs 11, act 3), ``ant`` (37, 8), ``humanoid`` (76, 21),
``cheetah`` (17, 6) and ``cartpole`` (5, 1; dflex's cart-pole swing-up, named ``cartpole``
because ``cartpole-swingup`` is dm_control's). Control step 1/60 s, 1000-step episodes (240 for
cartpole), dflex's observations, rewards, early termination and stochastic initial states.

Two interfaces:
- ``DiffEnv(task, num_envs, seed, threads)``: a batched torch env whose ``step(actions)`` is
  differentiable w.r.t. actions and the previous state (MuJoCo with finite-difference Jacobians,
  ``backend.py``; ``autograd.py``); SHAC and PWM use it.
- ``pwm.envs.make(task, seed)``: the same task as a gymnasium env (``gym_env.py``), for SAC, PPO,
  TD-MPC2 and the evaluation protocol.

Physics deviations from dflex are listed in docs/differentiable-envs.md and in ``models.py``.
"""

from pwm.envs.diff.batched import DiffEnv
from pwm.envs.diff.tasks import TASK_CLASSES, get_task

__all__ = ["DiffEnv", "TASK_CLASSES", "get_task"]

"""Environments: ``make(task, seed)`` for every registered task (see registry.py)."""

from pwm.envs.registry import TaskSpec, get_spec, make, register, task_names, unknown_task_message

__all__ = ["TaskSpec", "get_spec", "make", "register", "task_names", "unknown_task_message"]

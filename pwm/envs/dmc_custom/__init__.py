"""TD-MPC2's custom dm_control tasks of MT30 (ids 19-29), written from their definitions.

Each task is added to its dm_control domain's ``SUITE`` under the tag 'custom' (as TD-MPC2 does),
so ``dm_control.suite.load(domain, task)`` builds it, and registered in the task registry under
its TD-MPC2 name with the same DMControlEnv wrapper as the stock tasks. ``suite.ALL_TASKS`` is left
unchanged, so code iterating over dm_control's benchmark sees only stock tasks.
"""

from __future__ import annotations

import functools

from pwm.envs.dm_control import ACTION_REPEAT, EPISODE_LENGTH, make_dm_control, tdmpc2_name
from pwm.envs.registry import TaskSpec, register

FAMILY = "dm_control-custom"


def _task_modules():
    from pwm.envs.dmc_custom import cheetah, cup, hopper, pendulum, reacher, walker

    return (walker, cheetah, hopper, reacher, cup, pendulum)


def _add_to_suite(domain_module, name: str, factory) -> None:
    if name in domain_module.SUITE:
        if domain_module.SUITE[name] is not factory:
            raise ValueError(f"dm_control domain {domain_module.__name__} already has a task {name!r}")
        return
    factory.__name__ = name  # TaggedTasks keys factories by function name
    domain_module.SUITE.add("custom")(factory)


@functools.cache
def custom_task_specs() -> tuple[TaskSpec, ...]:
    """One TaskSpec per custom task (built once, so registering twice is a no-op)."""
    specs = []
    for module in _task_modules():
        domain = module.DOMAIN.__name__.rsplit(".", 1)[-1]
        for task, factory in module.TASKS.items():
            _add_to_suite(module.DOMAIN, task, factory)
            specs.append(
                TaskSpec(
                    name=tdmpc2_name(domain, task),
                    domain=domain,
                    family=FAMILY,
                    factory=functools.partial(make_dm_control, domain, task),
                    episode_length=EPISODE_LENGTH,
                    action_repeat=ACTION_REPEAT,
                )
            )
    return tuple(specs)


def register_custom_tasks() -> None:
    for spec in custom_task_specs():
        register(spec)

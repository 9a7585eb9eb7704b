"""The task table of the multitask suites MT30 and MT80: order (= task ids) and dims, the family
of every registered task (TASK_FAMILIES), and expansion of suite names in task lists.

The position of a task in its suite is its task id, the row of a multitask world model's task
embedding, so the order below must stay TD-MPC2's (the ``TASK_SET`` lists of TD-MPC2's
``common/__init__.py``). This module is the one home of that table and imports nothing but the
standard library, so the analysis jobs and the config checks can read it without the simulators.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

MT30 = (
    "walker-stand",
    "walker-walk",
    "walker-run",
    "cheetah-run",
    "reacher-easy",
    "reacher-hard",
    "acrobot-swingup",
    "pendulum-swingup",
    "cartpole-balance",
    "cartpole-balance-sparse",
    "cartpole-swingup",
    "cartpole-swingup-sparse",
    "cup-catch",
    "finger-spin",
    "finger-turn-easy",
    "finger-turn-hard",
    "fish-swim",
    "hopper-stand",
    "hopper-hop",
    # TD-MPC2's custom tasks (pwm.envs.dmc_custom)
    "walker-walk-backwards",
    "walker-run-backwards",
    "cheetah-run-backwards",
    "cheetah-run-front",
    "cheetah-run-back",
    "cheetah-jump",
    "hopper-hop-backwards",
    "reacher-three-easy",
    "reacher-three-hard",
    "cup-spin",
    "pendulum-spin",
)
# The 50 Meta-World v3 tasks (pwm.envs.metaworld registers them as ``mw-<name>``) in TD-MPC2's
# MT80 order, task ids 30-79.
METAWORLD_PREFIX = "mw-"
METAWORLD_TASKS = (
    "assembly",
    "basketball",
    "button-press-topdown",
    "button-press-topdown-wall",
    "button-press",
    "button-press-wall",
    "coffee-button",
    "coffee-pull",
    "coffee-push",
    "dial-turn",
    "disassemble",
    "door-open",
    "door-close",
    "drawer-close",
    "drawer-open",
    "faucet-open",
    "faucet-close",
    "hammer",
    "handle-press-side",
    "handle-press",
    "handle-pull-side",
    "handle-pull",
    "lever-pull",
    "peg-insert-side",
    "peg-unplug-side",
    "pick-out-of-hole",
    "pick-place",
    "pick-place-wall",
    "plate-slide",
    "plate-slide-side",
    "plate-slide-back",
    "plate-slide-back-side",
    "push-back",
    "push",
    "push-wall",
    "reach",
    "reach-wall",
    "shelf-place",
    "soccer",
    "stick-push",
    "stick-pull",
    "sweep-into",
    "sweep",
    "window-open",
    "window-close",
    "bin-picking",
    "box-close",
    "door-lock",
    "door-unlock",
    "hand-insert",
)
MT80 = MT30 + tuple(METAWORLD_PREFIX + name for name in METAWORLD_TASKS)

SUITES: dict[str, tuple[str, ...]] = {"mt30": MT30, "mt80": MT80}

# Every task the registry holds, by family, so that checking a workflow config's task names (when
# Snakemake builds its DAG) imports no simulator: the registry's families import dm_control, MuJoCo
# and torch (~1.5 s). tests/test_suites.py checks this table against the registry; a task the table
# lacks (a family added later, or one registered at run time) is looked up in the registry instead.
DM_CONTROL_EXTRA_TASKS = (  # dm_control.suite.ALL_TASKS beyond MT30's first 19, by TD-MPC2's naming
    "acrobot-swingup-sparse",
    "cartpole-three-poles",
    "cartpole-two-poles",
    "dog-fetch",
    "dog-run",
    "dog-stand",
    "dog-trot",
    "dog-walk",
    "fish-upright",
    "humanoid-run",
    "humanoid-run-pure-state",
    "humanoid-stand",
    "humanoid-walk",
    "humanoid_CMU-run",
    "humanoid_CMU-stand",
    "humanoid_CMU-walk",
    "lqr-lqr-2-1",
    "lqr-lqr-6-2",
    "manipulator-bring-ball",
    "manipulator-bring-peg",
    "manipulator-insert-ball",
    "manipulator-insert-peg",
    "pointmass-easy",
    "pointmass-hard",
    "quadruped-escape",
    "quadruped-fetch",
    "quadruped-run",
    "quadruped-walk",
    "stacker-stack-2",
    "stacker-stack-4",
    "swimmer-swimmer15",
    "swimmer-swimmer6",
)
DIFFERENTIABLE_TASKS = ("hopper", "ant", "humanoid", "cheetah", "cartpole", "quadruped", "muscle-legs")
# The tasks of dflex, the PWM paper's own simulator (imgeorgiev/DiffRL's fork), an optional backend
# installed separately (pwm/envs/dflex/): each with its twin among the MuJoCo tasks above, whose
# hyperparameter defaults and score divisor it shares, and which an experiment's `simulator: dflex`
# replaces by it. Anymal's twin is quadruped and SNU Humanoid's muscle-legs, the tasks standing in for them.
DFLEX_TWINS: dict[str, str] = {
    "dflex-hopper": "hopper",
    "dflex-ant": "ant",
    "dflex-humanoid": "humanoid",
    "dflex-cartpole": "cartpole",
    "dflex-anymal": "quadruped",
    "dflex-snu-humanoid": "muscle-legs",
}
DFLEX_TASKS = tuple(DFLEX_TWINS)
# The families whose envs are differentiable batches (pwm.envs.batched): SHAC's and single-task PWM's.
DIFFERENTIABLE_FAMILIES = ("differentiable", "dflex")
TASK_FAMILIES: dict[str, str] = {
    **{task: "dm_control" for task in MT30[:19] + DM_CONTROL_EXTRA_TASKS},
    **{task: "dm_control-custom" for task in MT30[19:]},
    **{METAWORLD_PREFIX + task: "metaworld" for task in METAWORLD_TASKS},
    **{task: "differentiable" for task in DIFFERENTIABLE_TASKS},
    **{task: "dflex" for task in DFLEX_TASKS},  # listed even when dflex is not installed
}


def mujoco_twin(task: str) -> str:
    """The MuJoCo differentiable task a dflex task shares its defaults and score divisor with; else ``task``."""
    return DFLEX_TWINS.get(task, task)


def dflex_task(task: str) -> str:
    """The dflex task that stands for a MuJoCo differentiable task (``simulator: dflex``); ValueError
    for a task without one."""
    for name, twin in DFLEX_TWINS.items():
        if twin == task or name == task:
            return name
    raise ValueError(
        f"task {task!r} has no dflex counterpart; dflex has {', '.join(DFLEX_TASKS)} "
        f"(for {', '.join(DFLEX_TWINS.values())})"
    )


def task_family(name: str) -> str | None:
    """A task's family (``dm_control``, ``differentiable``, ...); None for a task nobody registers.
    From :data:`TASK_FAMILIES`, else (a task it lacks) from the registry, which imports the families."""
    if name in TASK_FAMILIES:
        return TASK_FAMILIES[name]
    from pwm.envs.registry import get_spec, task_names

    return get_spec(name).family if name in task_names() else None


# (obs_dim, action_dim) of every MT30 task as TD-MPC2 records them; every Meta-World task has (39, 4).
_DMC_DIMS = {
    "walker-stand": (24, 6),
    "walker-walk": (24, 6),
    "walker-run": (24, 6),
    "cheetah-run": (17, 6),
    "reacher-easy": (6, 2),
    "reacher-hard": (6, 2),
    "acrobot-swingup": (6, 1),
    "pendulum-swingup": (3, 1),
    "cartpole-balance": (5, 1),
    "cartpole-balance-sparse": (5, 1),
    "cartpole-swingup": (5, 1),
    "cartpole-swingup-sparse": (5, 1),
    "cup-catch": (8, 2),
    "finger-spin": (9, 2),
    "finger-turn-easy": (12, 2),
    "finger-turn-hard": (12, 2),
    "fish-swim": (24, 5),
    "hopper-stand": (15, 4),
    "hopper-hop": (15, 4),
    "walker-walk-backwards": (24, 6),
    "walker-run-backwards": (24, 6),
    "cheetah-run-backwards": (17, 6),
    "cheetah-run-front": (17, 6),
    "cheetah-run-back": (17, 6),
    "cheetah-jump": (17, 6),
    "hopper-hop-backwards": (15, 4),
    "reacher-three-easy": (8, 3),
    "reacher-three-hard": (8, 3),
    "cup-spin": (8, 2),
    "pendulum-spin": (3, 1),
}
_METAWORLD_DIMS = (39, 4)


def _dims(task: str) -> tuple[int, int]:
    return _METAWORLD_DIMS if task.startswith(METAWORLD_PREFIX) else _DMC_DIMS[task]


# suite -> [(task, obs_dim, action_dim)] in task-id order: what a multitask checkpoint's padding,
# action masks and task embedding are built from.
TASK_SETS: dict[str, list[tuple[str, int, int]]] = {
    suite: [(task, *_dims(task)) for task in tasks] for suite, tasks in SUITES.items()
}
TASK_DIMS: dict[str, tuple[int, int]] = {name: (o, a) for name, o, a in TASK_SETS["mt80"]}


def suite_names() -> list[str]:
    return list(SUITES)


def suite_tasks(suite: str) -> list[str]:
    """The ordered task list of a suite (index = task id)."""
    try:
        return list(SUITES[suite])
    except KeyError:
        raise ValueError(f"unknown suite {suite!r}; suites: {', '.join(SUITES)}") from None


def expand_tasks(items: Iterable[str] | str) -> list[str]:
    """Task names with suite names replaced by their tasks, de-duplicated keeping first order.

    ``["walker-walk", "mt30"]`` -> walker-walk followed by the other 29 MT30 tasks. Raises
    ValueError naming close matches for anything that is neither a suite nor a registered task.
    """
    if isinstance(items, str):
        items = [items]
    expanded: list[str] = []
    for item in items:
        if item in SUITES:
            expanded.extend(SUITES[item])
        elif task_family(item) is not None:
            expanded.append(item)
        else:
            from pwm.envs.registry import task_names

            known = set(task_names())
            close = difflib.get_close_matches(str(item), sorted(known) + list(SUITES), n=5, cutoff=0.6)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            raise ValueError(
                f"unknown task or suite {item!r}{hint}. Suites: {', '.join(SUITES)}; "
                f"run `pwm-bench tasks` for the {len(known)} tasks."
            )
    return list(dict.fromkeys(expanded))

"""Task suites MT30 and MT80 as ordered task lists, and expansion of suite names in task lists.

The position of a task in its suite is its task id, the row of a multitask world model's task
embedding, so the order below must stay TD-MPC2's (spec table, docs of TD-MPC2's MT30/MT80).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pwm.envs import metaworld

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
MT80 = MT30 + tuple(metaworld.PREFIX + name for name in metaworld.TASKS)

SUITES: dict[str, tuple[str, ...]] = {"mt30": MT30, "mt80": MT80}


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
    from pwm.envs.registry import task_names

    if isinstance(items, str):
        items = [items]
    known = set(task_names())
    expanded: list[str] = []
    for item in items:
        if item in SUITES:
            expanded.extend(SUITES[item])
        elif item in known:
            expanded.append(item)
        else:
            close = difflib.get_close_matches(str(item), sorted(known) + list(SUITES), n=5, cutoff=0.6)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            raise ValueError(
                f"unknown task or suite {item!r}{hint}. Suites: {', '.join(SUITES)}; "
                f"run `pwm-bench tasks` for the {len(known)} tasks."
            )
    return list(dict.fromkeys(expanded))

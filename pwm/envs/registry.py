"""The task registry: one name space for every task the harness can train on.

Task names are TD-MPC2's (``walker-walk``, ``cup-catch``, ``mw-assembly``) because the order of
those names is the task id of a multitask world model's embedding; keeping the names identical
lets users bring TD-MPC2 datasets and checkpoints unchanged. Each family of tasks (dm_control,
custom dm_control tasks, Meta-World, differentiable locomotion) registers its tasks here with a
factory, so ``make`` and ``pwm-bench tasks`` need no knowledge of the families.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only annotations: importing the registry (pwm.envs) stays free of gymnasium
    import gymnasium as gym


@dataclass(frozen=True)
class TaskSpec:
    """What the harness needs to know about a task without building it."""

    name: str
    domain: str  # e.g. "walker", "ball_in_cup", "metaworld"
    family: str  # "dm_control", "dm_control-custom", "metaworld", ...
    factory: Callable[[int], gym.Env]  # seed -> environment
    episode_length: int  # agent steps per episode
    action_repeat: int
    # How one episode's outcome becomes a score in [0, 1] for aggregation: dm_control tasks use
    # return / max_return, success-based suites (Meta-World) use the final-step success.
    # pwm.envs.scoring holds these for every task, so the analysis can read them without the registry.
    score: str = "reward"  # "reward" or "success"
    max_return: float = 1000.0
    # Whether episodes can end early with ``terminated`` (a fall of a differentiable locomotion
    # task) rather than only by the time limit (``truncated``). TD-MPC2's ``episodic: auto`` turns
    # its termination head on for exactly these tasks.
    early_termination: bool = False


_REGISTRY: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> None:
    if spec.name in _REGISTRY and _REGISTRY[spec.name] != spec:
        raise ValueError(f"task {spec.name!r} is already registered by family {_REGISTRY[spec.name].family!r}")
    _REGISTRY[spec.name] = spec


def _ensure_loaded() -> None:
    # Families register on import; importing here keeps `import pwm` light.
    from pwm.envs import families  # noqa: F401


def task_names() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def unknown_task_message(name: str, where: str | None = None) -> str:
    close = difflib.get_close_matches(str(name), task_names(), n=5, cutoff=0.6)
    hint = f"; close matches: {', '.join(close)}" if close else ""
    at = f" at {where}" if where else ""
    return f"unknown task {name!r}{at}{hint}. Run `pwm-bench tasks` for the full list ({len(task_names())} tasks)."


def get_spec(name: str) -> TaskSpec:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        from pwm.envs.suites import TASK_FAMILIES

        if TASK_FAMILIES.get(name) == "dflex":  # listed, but dflex is not installed
            from pwm.envs.dflex.availability import missing_message

            raise ValueError(missing_message(name)) from None
        raise ValueError(unknown_task_message(name)) from None


def make(task: str, seed: int = 0) -> gym.Env:
    """Build the task's environment, seeded, with TD-MPC2 wrapper semantics."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r} ({type(seed).__name__})")
    return get_spec(task).factory(seed)

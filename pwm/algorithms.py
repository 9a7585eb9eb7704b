"""Where each algorithm's ``train(run)`` lives, and which task families it can train on.

PWM is this package's method (``pwm.agent``); every other name is a module in ``baselines/``.
Looking baselines up by module name is what lets a new baseline be added without touching the
harness: write ``baselines/<name>.py`` and its Snakemake rule.

The harness never imports ``baselines`` to learn about them (``baselines`` sits on top of ``pwm``):
what an algorithm declares, ``def train`` and an optional ``TASK_FAMILIES = ("differentiable",)``,
is read from its source with ``ast``. Planning a DAG or listing algorithms therefore costs no torch,
SB3 or simulator import; only :func:`load`, when a run starts, imports the module.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

PACKAGE_ALGORITHMS = {"pwm": "pwm.agent"}
BASELINES = "baselines"


def module_name(name: str) -> str:
    return PACKAGE_ALGORITHMS.get(name, f"{BASELINES}.{name}")


def _baseline_dirs() -> list[Path]:
    # find_spec of a top-level package locates it without running its __init__.
    spec = importlib.util.find_spec(BASELINES)
    return [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []


def _source(name: str) -> Path | None:
    if name in PACKAGE_ALGORITHMS:
        origin = importlib.util.find_spec(PACKAGE_ALGORITHMS[name]).origin
        return Path(origin) if origin else None
    return next((d / f"{name}.py" for d in _baseline_dirs() if (d / f"{name}.py").is_file()), None)


@cache
def _declarations(path: Path) -> tuple[bool, tuple[str, ...] | None]:
    """(the module defines ``train`` at top level, its ``TASK_FAMILIES`` literal or None)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    has_train, families = False, None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "train":
            has_train = True
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "TASK_FAMILIES" for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, TypeError):
                value = None
            if not (isinstance(value, tuple | list) and all(isinstance(f, str) for f in value)):
                raise ValueError(
                    f"{path}: TASK_FAMILIES must be a literal tuple of family names, e.g. ('differentiable',)"
                )
            families = tuple(value)
    return has_train, families


def available() -> list[str]:
    """Every algorithm name: ``pwm`` and each ``baselines/<name>.py`` that defines ``train``."""
    names = {name for name in PACKAGE_ALGORITHMS if _source(name)}
    for directory in _baseline_dirs():
        names |= {p.stem for p in directory.glob("*.py") if not p.stem.startswith("_") and _declarations(p)[0]}
    return sorted(names)


def task_families(name: str) -> tuple[str, ...] | None:
    """The task families algorithm ``name`` declares (``TASK_FAMILIES``); None: any task."""
    path = _source(name)
    if path is None:
        raise ValueError(f"unknown algorithm {name!r}; available: {', '.join(available())}")
    return _declarations(path)[1]


def load(name: str) -> ModuleType:
    module = module_name(name)
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise
        raise ValueError(f"unknown algorithm {name!r}; available: {', '.join(available())}") from None
    if not hasattr(loaded, "train"):
        raise ValueError(f"{module} has no train(run) function, so {name!r} is not an algorithm")
    return loaded

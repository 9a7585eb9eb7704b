"""Where each algorithm's ``train(run)`` lives.

PWM is this package's method (``pwm.agent``); every other name is a module in ``baselines/``.
Looking baselines up by module name is what lets a new baseline be added without touching the
harness: write ``baselines/<name>.py`` and its Snakemake rule.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType

import baselines

PACKAGE_ALGORITHMS = {"pwm": "pwm.agent"}


def available() -> list[str]:
    names = {
        m.name
        for m in pkgutil.iter_modules(baselines.__path__)
        if hasattr(importlib.import_module(f"baselines.{m.name}"), "train")
    }
    names |= {name for name, mod in PACKAGE_ALGORITHMS.items() if importlib.util.find_spec(mod)}
    return sorted(names)


def load(name: str) -> ModuleType:
    module_name = PACKAGE_ALGORITHMS.get(name, f"baselines.{name}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name != module_name:
            raise
        raise ValueError(f"unknown algorithm {name!r}; available: {', '.join(available())}") from None
    if not hasattr(module, "train"):
        raise ValueError(f"{module_name} has no train(run) function, so {name!r} is not an algorithm")
    return module

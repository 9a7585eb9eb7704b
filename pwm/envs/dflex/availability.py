"""Whether dflex is installed, found without importing it (its first import compiles its kernels).

dflex is the PWM paper's simulator (the fork imgeorgiev/DiffRL, subdirectory ``dflex``, which also
packages the environments). It is not on PyPI, has a non-commercial license (NVIDIA Source Code
License), and this project neither contains nor builds it: a user installs it separately. The task
table (pwm.envs.suites) always lists the dflex family, the registry registers it only when this module
finds dflex, and naming one of its tasks without dflex fails with :func:`missing_message`.
Standard library only, so the workflow's config check can call it while the DAG is built.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

INSTRUCTIONS = (
    "dflex is an optional simulator installed separately (non-commercial NVIDIA Source Code License): "
    "follow https://github.com/imgeorgiev/DiffRL (subdirectory dflex; Python 3.9-3.11, numpy<2, gym, "
    "a C++ compiler and ninja), e.g. `pip install 'numpy<2' gym urchin usd-core` and "
    "`pip install -e DiffRL/dflex` into this environment; README.md, 'dflex tasks'"
)


def missing_reason() -> str | None:
    """None when dflex and its environments (``dflex.envs``) are installed, else what is missing."""
    for module in ("dflex", "gym"):
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            return f"the Python package {module!r} is not installed"
        if module == "dflex":
            locations = list(spec.submodule_search_locations or [])
            if not any((Path(p) / "envs" / "__init__.py").is_file() for p in locations):
                return "the installed dflex has no dflex.envs (install the DiffRL fork's dflex, which packages them)"
    return None


def missing_message(task: str) -> str:
    """Why task ``task`` of the dflex family cannot be used here, and what to install."""
    return f"task {task!r} needs dflex, which is unavailable here: {missing_reason()}. {INSTRUCTIONS}"

"""The package's layers point one way, and the light entry points stay light.

``baselines`` is built on ``pwm`` (the harness, environments, world model, data), so nothing in
``pwm`` may import it; the harness reaches a baseline only by name, when a run starts
(``pwm.algorithms.load``). The analysis jobs (collect, aggregate, figures) and the CLI's parser
must not pull in torch or gymnasium: every Snakemake analysis job and every `pwm-bench --help`
would pay seconds for them.
"""

import ast
from pathlib import Path

from helpers import PROJECT_ROOT, fresh_python

PWM = PROJECT_ROOT / "pwm"
HEAVY = ("torch", "gymnasium")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import statement in a file, at any depth (function-local too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_no_module_under_pwm_imports_baselines():
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}: import {module}"
        for path in sorted(PWM.rglob("*.py"))
        for line, module in imported_modules(path)
        if module == "baselines" or module.startswith("baselines.")
    ]
    assert not offenders, "pwm must not import baselines (baselines sits on top of pwm):\n" + "\n".join(offenders)


def test_importing_every_pwm_module_loads_no_baseline():
    result = fresh_python(
        "import importlib, json, pkgutil, sys, pwm\n"
        "names = [m.name for m in pkgutil.walk_packages(pwm.__path__, 'pwm.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(json.dumps({'modules': len(names), 'baselines': sorted(m for m in sys.modules "
        "if m == 'baselines' or m.startswith('baselines.'))}))"
    )
    assert result["modules"] > 50
    assert result["baselines"] == []


def test_analysis_imports_neither_torch_nor_gymnasium():
    """Every module of pwm.analysis, plus normalising a registered task's score (the registry's
    score rules live in the dependency-free pwm.envs.scoring)."""
    result = fresh_python(
        "import importlib, json, pkgutil, sys, pwm.analysis, pwm.analysis.commands\n"
        "for m in pkgutil.iter_modules(pwm.analysis.__path__): importlib.import_module('pwm.analysis.' + m.name)\n"
        "from pwm.analysis.scores import normalized_score\n"
        "score = float(normalized_score('hopper', 4742.30, 0.0))\n"
        f"print(json.dumps({{'score': score, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
    )
    assert result["heavy"] == []
    assert abs(result["score"] - 1.0) < 1e-12


def test_cli_parser_and_algorithm_declarations_import_no_training_code():
    """`pwm-bench --help` builds every sub-command's parser; the workflow reads the algorithms'
    names and task families. Neither may import torch, gymnasium, pandas or a baseline."""
    result = fresh_python(
        "import json, sys\n"
        "from pwm.cli import build_parser\n"
        "from pwm import algorithms\n"
        "build_parser().format_help()\n"
        "names = algorithms.available()\n"
        "families = {n: algorithms.task_families(n) for n in names}\n"
        "print(json.dumps({'names': names, 'families': families, 'loaded': sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('torch', 'gymnasium', 'pandas', 'baselines'))}))"
    )
    assert result["loaded"] == []
    assert {"pwm", "sac", "ppo", "shac", "tdmpc2", "random_policy"} <= set(result["names"])
    assert result["families"]["shac"] == ["differentiable", "dflex"]
    assert result["families"]["sac"] is None


def test_declared_task_families_match_the_loaded_modules():
    """The families read from the source are the ones the imported module declares."""
    from pwm import algorithms

    for name in algorithms.available():
        declared = getattr(algorithms.load(name), "TASK_FAMILIES", None)
        assert algorithms.task_families(name) == (tuple(declared) if declared is not None else None), name

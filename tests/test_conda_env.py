"""--use-conda: every rule names the conda environment, and it agrees with pyproject.toml."""

import re
import tomllib

import yaml
from packaging.requirements import Requirement

from helpers import PROJECT_ROOT

ENV_FILE = PROJECT_ROOT / "workflow" / "envs" / "pwm-bench.yaml"


def normalised(requirements):
    return {str(Requirement(r)) for r in requirements}


def test_env_installs_this_package_with_pyproject_dependencies():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load(ENV_FILE.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    editable = [p for p in pip if p.startswith("-e ")]
    assert editable == ["-e ../.."]
    assert (ENV_FILE.parent / "../.." / "pyproject.toml").resolve() == PROJECT_ROOT / "pyproject.toml"
    assert normalised(p for p in pip if not p.startswith("-e ")) == normalised(project["dependencies"])
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    minimum = re.search(r">=(\d+\.\d+)", project["requires-python"]).group(1)
    assert tuple(map(int, python.split("=")[1].split("."))) >= tuple(map(int, minimum.split(".")))


def test_every_rule_that_runs_something_names_the_env():
    assert 'CONDA_ENV = "../envs/pwm-bench.yaml"' in (PROJECT_ROOT / "workflow/rules/common.smk").read_text()
    checked = 0
    for path in sorted((PROJECT_ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule \w+:)", path.read_text()):
            name = re.match(r"rule (\w+):", block)
            if not name or not re.search(r"(?m)^    (shell|script|run):", block):
                continue
            assert re.search(r"(?m)^    conda:\n        CONDA_ENV$", block), (
                f"{path.name}: rule {name.group(1)} has no conda env"
            )
            checked += 1
    assert checked >= 10

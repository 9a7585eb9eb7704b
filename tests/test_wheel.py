"""A built wheel works without the source tree: it carries the algorithms' YAML defaults.

The wheel is built from a copy of the packaged sources (pyproject, README, LICENSE, pwm/, baselines/),
installed without dependencies into its own folder and imported from there by a fresh interpreter
whose working directory is elsewhere, so neither the checkout nor the editable install can serve a
file the wheel lacks.
"""

import json
import shutil
import subprocess
import sys
import zipfile

import yaml

from helpers import PROJECT_ROOT, subprocess_env

PACKAGED = ["pyproject.toml", "README.md", "LICENSE", "pwm", "baselines"]
YAML_FILES = ["pwm/configs/pwm.yaml", "pwm/configs/tdmpc2.yaml"]
BASELINE_YAML_FILES = ["baselines/configs/shac.yaml", "baselines/configs/sac.yaml", "baselines/configs/ppo.yaml"]

READ_DEFAULTS = """
import json, pwm, baselines.tdmpc2 as t
from omegaconf import OmegaConf
from pwm.agent import load_hparams
plain = lambda cfg: OmegaConf.to_container(cfg, resolve=True)
from pwm import hparams
baselines = {a: hparams.resolve(a, "hopper") for a in ("shac", "sac", "ppo")}
print(json.dumps({"pwm_file": pwm.__file__, "pwm": plain(load_hparams({})), "tdmpc2": plain(t.load_hparams({})),
                  "baselines": baselines}))
"""


def build_wheel(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in PACKAGED:
        path = PROJECT_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(path, src / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (wheel,) = dist.glob("pwm_bench-*.whl")
    return wheel


def test_wheel_installs_and_reads_its_yaml_defaults(tmp_path):
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for path in YAML_FILES + BASELINE_YAML_FILES:
        assert path in names, f"{wheel.name} lacks {path}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), sorted(n for n in names if "dist-info" in n)

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = subprocess_env()
    env["PYTHONPATH"] = str(site)
    out = subprocess.run(
        [sys.executable, "-c", READ_DEFAULTS], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["pwm_file"].startswith(str(site)), loaded["pwm_file"]
    # every default equals the source YAML's value (read here independently of the package's loader)
    for algo, path in zip(("pwm", "tdmpc2"), YAML_FILES):
        source = yaml.safe_load((PROJECT_ROOT / path).read_text())
        assert set(loaded[algo]) == set(source)
        for key, value in source.items():
            assert loaded[algo][key] == value, (algo, key)
    assert loaded["baselines"]["sac"]["learning_starts"] == 1000 and loaded["baselines"]["shac"]["num_envs"] == 256

"""What made a run's numbers, and what they cost: ``manifest.json`` in every run directory.

A number in a figure is only reproducible if one can tell which code, packages, hardware, seeds
and input files made it. The manifest is written (atomically) when a run starts and completed
when it ends; a resumed run appends an attempt, so the cost of a killed-and-resumed run is the
sum of its attempts. ``pwm-bench collect`` gathers the manifests of an experiment into
``provenance.csv`` and ``cost.csv`` (:mod:`pwm.analysis.provenance`).

Stdlib only (torch is asked for the GPU's name only when the run is on CUDA and torch is loaded).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from pwm import atomic

MANIFEST_FORMAT = "pwm-bench-manifest/1"
MANIFEST_FILE = "manifest.json"
# The distributions whose versions shape results (what a figure must not mix silently).
RESULT_PACKAGES = (
    "pwm-bench",
    "torch",
    "numpy",
    "mujoco",
    "dm-control",
    "metaworld",
    "gymnasium",
    "stable-baselines3",
    "rliable",
    "tensordict",
)
# Hyperparameters that name input files (world models, datasets, offline data).
INPUT_KEYS = (
    "world_model",
    "data_dir",
    "offline_data",
    "pretrained_world_model",
    "init_checkpoint",
    "data",
    "data_dirs",
)
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def git_state(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The commit of the checkout ``root`` is in, whether its tracked files differ from it, and
    the SHA-256 of that difference (``git diff HEAD``); all None outside a git checkout (a wheel)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=30, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.decode("utf-8", "replace")

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "diff_sha256": None}
    diff = git("diff", "HEAD", "--binary") or ""
    return {
        "commit": commit.strip(),
        "dirty": bool(diff),
        "diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
    }


def package_versions(names: Iterable[str] = RESULT_PACKAGES) -> dict[str, str | None]:
    """Installed versions (None: not installed), read from package metadata without importing."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware(device: str) -> dict[str, Any]:
    """CPU model and count, the GPU's name on a CUDA run, torch's CUDA build (None: a CPU build)."""
    gpu = cuda = None
    torch = sys.modules.get("torch")
    if torch is not None:
        cuda = torch.version.cuda
        if device.startswith("cuda") and torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(torch.device(device))
    return {"cpu": cpu_model(), "cpus": os.cpu_count(), "gpu": gpu, "torch_cuda": cuda, "platform": platform.platform()}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_hashes(hparams: Mapping[str, Any], keys: Iterable[str] = INPUT_KEYS) -> dict[str, str]:
    """``{path: sha256}`` of every file the hyperparameters name (a directory: each file in it)."""
    hashes = {}
    for key in keys:
        value = hparams.get(key)
        for item in value if isinstance(value, list | tuple) else [value]:
            if not isinstance(item, str) or not item:
                continue
            path = Path(item)
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for file in files:
                if file.is_file():
                    hashes[str(file)] = sha256_file(file)
    return hashes


def peak_memory_mb() -> float:
    """The largest resident set of this process or of any waited-for child, in MiB (Linux: KiB units)."""
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    return round(peak / (1024 if sys.platform != "darwin" else 1024 * 1024), 1)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def workflow_job() -> dict[str, Any] | None:
    """The Snakemake rule and wildcards of this job, which the workflow passes in the environment
    (``PWM_BENCH_RULE``, ``PWM_BENCH_WILDCARDS`` as JSON); None when run by hand."""
    rule = os.environ.get("PWM_BENCH_RULE")
    if not rule:
        return None
    try:
        wildcards = json.loads(os.environ.get("PWM_BENCH_WILDCARDS", "{}"))
    except json.JSONDecodeError:
        wildcards = {"unparsed": os.environ.get("PWM_BENCH_WILDCARDS")}
    return {"rule": rule, "wildcards": wildcards}


def read_manifest(path: Path) -> dict | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("format") == MANIFEST_FORMAT else None


class Manifest:
    """A run's manifest: :meth:`start` at the beginning of an attempt, :meth:`finish` at the end."""

    def __init__(self, directory: Path, identity: Mapping[str, Any]):
        self.path = Path(directory) / MANIFEST_FILE
        self.identity = dict(identity)
        self.data: dict[str, Any] = {}
        self._cpu0 = cpu_seconds()

    def start(
        self,
        settings: Mapping[str, Any],
        hparams: Mapping[str, Any],
        seeds: Mapping[str, int],
        resolved: Mapping[str, Any] | None = None,
    ) -> None:
        """Record what this attempt runs with (``hparams``: the overrides given; ``resolved``: the
        settings they resolve to with the algorithm's documented defaults); an earlier attempt's manifest of the same run is kept
        and this attempt appended to it (a manifest of another run is replaced)."""
        earlier = read_manifest(self.path)
        attempts = earlier["attempts"] if earlier and earlier.get("run") == self.identity else []
        attempts.append(
            {"started": now(), "ended": None, "wall_time_s": 0.0, "cpu_time_s": 0.0, "peak_memory_mb": None}
        )
        self.data = {
            "format": MANIFEST_FORMAT,
            "run": self.identity,
            "settings": dict(settings),
            "hparams": dict(hparams),
            "resolved_hparams": None if resolved is None else dict(resolved),
            "seeds": dict(seeds),
            "code": git_state(),
            "packages": package_versions(),
            "python": platform.python_version(),
            "hardware": hardware(str(settings.get("device", "cpu"))),
            "threads": settings.get("threads"),
            "inputs": input_hashes({**(resolved or {}), **hparams}),
            "workflow": workflow_job(),
            "attempts": attempts,
            "status": "running",
            "cost": None,
        }
        self._write()
        self._t0 = time.time()

    def update_attempt(self, ended: bool = False) -> None:
        """This attempt's wall and CPU time and peak memory so far (at each checkpoint: a killed
        attempt's cost up to its last checkpoint is kept)."""
        self.data["attempts"][-1].update(
            wall_time_s=round(time.time() - self._t0, 3),
            cpu_time_s=round(cpu_seconds() - self._cpu0, 3),
            peak_memory_mb=peak_memory_mb(),
            **({"ended": now()} if ended else {}),
        )
        self._write()

    def finish(self, wall_time_s: float | None, steps: int, env_steps: int, device: str, status: str = "done") -> None:
        """Complete the manifest: this attempt's end and the run's cost over all attempts
        (``wall_time_s`` None: the attempts' sum)."""
        self.update_attempt(ended=True)
        attempts = self.data["attempts"]
        if wall_time_s is None:
            wall_time_s = sum(a.get("wall_time_s") or 0.0 for a in attempts)
        cpu = sum(a.get("cpu_time_s") or 0.0 for a in attempts)
        self.data["status"] = status
        self.data["cost"] = {
            "wall_time_s": round(wall_time_s, 3),
            "cpu_time_s": round(cpu, 3),
            "gpu_time_s": round(wall_time_s, 3) if device.startswith("cuda") else 0.0,
            "peak_memory_mb": max(a.get("peak_memory_mb") or 0.0 for a in attempts),
            "steps": int(steps),
            "env_steps": int(env_steps),
            "steps_per_s": round(steps / wall_time_s, 3) if wall_time_s > 0 else None,
            "env_steps_per_s": round(env_steps / wall_time_s, 3) if wall_time_s > 0 else None,
            "attempts": len(attempts),
        }
        self._write()

    def _write(self) -> None:
        atomic.write_text(self.path, json.dumps(self.data, indent=1, sort_keys=False, default=str) + "\n")

"""Helpers for tests that run the CLI or Snakemake in a subprocess."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def subprocess_env() -> dict:
    """The test interpreter's bin directory first on PATH, so `pwm-bench` is this install's."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MUJOCO_GL", "disable")
    return env


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow (Snakefile + workflow/) in ``dest``, to run without touching results/."""
    shutil.copy(PROJECT_ROOT / "Snakefile", dest / "Snakefile")
    shutil.copytree(PROJECT_ROOT / "workflow", dest / "workflow")
    return dest


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=subprocess_env(), capture_output=True, text=True, timeout=timeout)


def run_to_end(cmd: list[str]) -> str:
    """Run a CLI command to completion, failing the test with its output if it fails."""
    result = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def checkpoint_step(path) -> int:
    """The step of a run checkpoint, or -1 while none is (completely) written."""
    import torch

    try:
        return torch.load(path, weights_only=False)["step"]
    except (FileNotFoundError, EOFError, RuntimeError):
        return -1


def kill_after_checkpoint(cmd: list[str], checkpoint, step: int, timeout: float = 300) -> int:
    """Start ``cmd``, SIGKILL it once ``checkpoint`` holds a step >= ``step``; returns that step.

    Fails the test with the job's output if it ends first, or after ``timeout`` seconds."""
    import signal
    import time

    proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while checkpoint_step(checkpoint) < step:
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline, f"no checkpoint at step >= {step} within {timeout} s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return checkpoint_step(checkpoint)


def fresh_python(code: str) -> dict:
    """Run ``code`` in a new interpreter (the project root as working directory); it prints one
    JSON object as its last line, which is returned."""
    import json

    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])

"""The workflow on a real one-node SLURM cluster (slurmctld + slurmd on localhost).

The cluster comes from Debian's packages (installed by tests/slurm_cluster.sh when missing).
Where it cannot be started (not root, no apt) the test skips with the reason, except in CI
(CI=true), where it must run.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import PROJECT_ROOT, copy_workflow, subprocess_env

CONFIG = {
    "aggregate": {"reps": 100, "seed": 0},
    "experiments": {
        "tiny": {
            "kind": "single-task",
            "tasks": ["cartpole-balance"],
            "seeds": [1],
            "algorithms": {
                "sac": {
                    "steps": 200,
                    "eval_every": 100,
                    "eval_episodes": 1,
                    "hparams": {"learning_starts": 50, "batch_size": 32},
                },
                "random_policy": {"steps": 100, "eval_every": 100, "eval_episodes": 1},
            },
        }
    },
}


def unavailable(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"SLURM test must run in CI, but: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        unavailable("starting slurmctld/slurmd/munged needs root")
    if not (shutil.which("slurmctld") or shutil.which("apt-get")):
        unavailable("SLURM is not installed and apt-get is not available to install it")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        unavailable("snakemake-executor-plugin-slurm is not installed (pip install -e '.[dev]')")
    # munged requires every directory above its socket to be world-executable, which pytest's
    # private temporary directories are not.
    directory = Path(tempfile.mkdtemp(prefix="pwm-bench-slurm-"))
    directory.chmod(0o755)
    script = PROJECT_ROOT / "tests" / "slurm_cluster.sh"
    env = {**os.environ, "SLURM_DIR": str(directory)}
    up = subprocess.run(["bash", str(script), "up"], env=env, capture_output=True, text=True, timeout=600)
    if up.returncode != 0:
        unavailable(f"the local SLURM cluster did not start:\n{up.stdout}\n{up.stderr}")
    try:
        yield {
            "SLURM_CONF": str(directory / "slurm.conf"),
            "PATH": f"{directory / 'bin'}{os.pathsep}{subprocess_env()['PATH']}",
            "XDG_CACHE_HOME": str(directory / "cache"),
        }
    finally:
        subprocess.run(["bash", str(script), "down"], env=env, timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


def test_workflow_runs_through_the_slurm_executor(tmp_path, cluster):
    workdir = copy_workflow(tmp_path)
    (workdir / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    env = {**subprocess_env(), **cluster}
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "workflow/profiles/slurm",
        "--default-resources",
        "slurm_partition=debug",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--verbose",
    ]
    # SIGTERM leaves a waiting Snakemake hanging; `timeout -s INT` stops it cleanly.
    result = subprocess.run(
        ["timeout", "-s", "INT", "-k", "30", "540", *cmd], cwd=workdir, env=env, capture_output=True, text=True
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]

    scores = pd.read_csv(workdir / "results" / "tiny" / "scores.csv")
    assert sorted(scores.algo.unique()) == ["random_policy", "sac"]
    assert (workdir / "results" / "tiny" / "aggregates.csv").exists()

    # What sbatch received: the rules' threads, memory and runtime.
    calls = {
        m.group(1): m.group(0) for m in re.finditer(r"sbatch call: sbatch .*?--comment rule_(\w+?)_wildcards.*", log)
    }
    assert set(calls) == {"train_sac", "train_random_policy"}, log[-3000:]
    assert "-p debug" in calls["train_sac"]
    assert re.search(r"-t 1440 --mem 4000 .*--cpus-per-task=1", calls["train_sac"])
    assert re.search(r"-t 60 --mem 1000 .*--cpus-per-task=1", calls["train_random_policy"])
    # ... and what SLURM recorded for the jobs it ran.
    jobs = subprocess.run(["scontrol", "show", "job", "-o"], env=env, capture_output=True, text=True).stdout
    limits = sorted(re.findall(r"TimeLimit=(\S+)", jobs))
    assert limits == ["01:00:00", "1-00:00:00"], jobs
    assert all("JobState=COMPLETED" in line for line in jobs.splitlines() if line.strip())
    assert {re.search(r"mem=(\d+)M", line).group(1) for line in jobs.splitlines() if line.strip()} == {"1000", "4000"}

"""What a planned run of the workflow will cost, before it is launched: ``pwm-bench estimate``.

The jobs are Snakemake's own plan (``snakemake -n --forceall -p`` for the config), so the estimate
covers exactly the DAG that would run. Each job's time is its budget (``--steps``) divided by a
measured throughput, with the basis said beside it:

- ``measured``: finished jobs' ``manifest.json`` cost records (:mod:`pwm.manifest`) of the same
  algorithm on the same task, else on other tasks (its mean rate), found under ``--runs``;
- ``pilot``: with ``--pilot SECONDS``, a training job with no basis and no upstream input runs for
  up to that long in a temporary directory: a job that finishes gives its own cost record, else
  its last ``[progress]`` rate is used (an early phase, e.g. SAC's or TD-MPC2's random seed steps
  before learning starts, makes this optimistic);
- ``fixed``: analysis and dataset jobs, a constant (they take seconds);
- ``none``: no basis; the job is left out of the totals and counted.

Scaling by steps assumes the rate does not change with the budget or hyperparameters (a larger
model is slower per step): the basis column says what each figure rests on.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

FIXED_SECONDS = 20.0  # an analysis / dataset job: seconds (collect, aggregate, figures, build_dataset, ...)
PRETRAIN_JOBS = {"pretrain_world_model": "pretraining", "pretrain_single_world_model": "pre-training"}


@dataclass
class Job:
    rule: str
    command: str
    has_input: bool
    options: dict[str, str] = field(default_factory=dict)

    @property
    def steps(self) -> int | None:
        return int(self.options["--steps"]) if "--steps" in self.options else None

    @property
    def threads(self) -> int:
        return int(self.options.get("--threads", 1))

    @property
    def key(self) -> tuple[str, str | None]:
        """(what kind of job, its task): what a cost record must match."""
        if self.rule in PRETRAIN_JOBS:
            return PRETRAIN_JOBS[self.rule], None
        return self.options.get("--algo", self.rule), self.options.get("--task")


def parse_dry_run(text: str) -> list[Job]:
    """The jobs of ``snakemake -n -p`` output (rule, shell command, options of a pwm-bench command)."""
    jobs = []
    for block in re.split(r"\n\s*\n", text):
        match = re.search(r"^(?:local)?rule (\S+):", block, re.M)
        if not match or match.group(1) == "all":
            continue
        command = re.search(r"^Shell command: (.*)$", block, re.M)
        command = command.group(1) if command else ""
        words = shlex.split(command.split(">>")[0].split(" > ")[0]) if command else []
        options = {w: words[i + 1] for i, w in enumerate(words[:-1]) if w.startswith("--")}
        jobs.append(Job(match.group(1), command, bool(re.search(r"^\s+input: ", block, re.M)), options))
    return jobs


def plan(configfile: str | None, workdir: str | Path = ".") -> list[Job]:
    cmd = [sys.executable, "-m", "snakemake", "-n", "--forceall", "-p"]
    if configfile:
        cmd += ["--configfile", str(configfile)]
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if result.returncode != 0:
        raise ValueError(f"snakemake could not plan {configfile or 'config.yaml'}:\n{result.stderr[-2000:]}")
    return parse_dry_run(result.stdout)


def cost_records(roots: list[str | Path]) -> dict[tuple[str, str | None], list[dict]]:
    """Finished jobs' cost records by (algorithm or pre-training job, task)."""
    from pwm.manifest import MANIFEST_FILE, read_manifest

    records = defaultdict(list)
    for root in roots:
        for path in Path(root).rglob(MANIFEST_FILE):
            data = read_manifest(path)
            if data is None:
                continue
            cost, run = data.get("cost"), data.get("run") or {}
            if not cost or not cost.get("steps") or not cost.get("wall_time_s"):
                continue
            key = (run["job"], None) if "job" in run else (run.get("algo"), run.get("task"))
            records[key].append({**cost, "path": str(path)})
    return records


def measured_rate(job: Job, records) -> tuple[float, float, str] | None:
    """(steps per wall second, CPU seconds per wall second, basis) from the records, or None."""
    kind, task = job.key
    same = records.get((kind, task), [])
    other = [r for (k, t), rs in records.items() if k == kind and t != task for r in rs]
    for found, where in ((same, f"{kind} on {task}" if task else kind), (other, f"{kind} on other tasks")):
        if found:
            rate = sum(r["steps"] for r in found) / sum(r["wall_time_s"] for r in found)
            cpu = sum(r["cpu_time_s"] for r in found) / sum(r["wall_time_s"] for r in found)
            return rate, cpu, f"measured: {len(found)} {where}"
    return None


def pilot_rate(job: Job, seconds: float) -> tuple[float, float, str] | None:
    """Run the job's training command for ``seconds`` in a temporary directory; its last progress rate."""
    words = shlex.split(job.command.split(">>")[0])
    env = dict(os.environ)
    while words and re.match(r"^[A-Z_]+=", words[0]):  # the rule's environment assignments
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    with tempfile.TemporaryDirectory() as tmp:
        words[words.index("--out") + 1] = tmp
        proc = subprocess.Popen(words, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        deadline = time.time() + seconds
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        output = proc.communicate()[0]
        from pwm.manifest import MANIFEST_FILE, read_manifest

        cost = (read_manifest(Path(tmp) / MANIFEST_FILE) or {}).get("cost")  # a finished pilot's own record
    if cost and cost.get("steps") and cost.get("wall_time_s"):
        wall = cost["wall_time_s"]
        return cost["steps"] / wall, cost["cpu_time_s"] / wall, "pilot: the whole job"
    rates = re.findall(r"\[progress\] step \d+/\d+ .* rate=([0-9.]+) steps/s", output)
    if not rates or float(rates[-1]) <= 0:
        return None
    return float(rates[-1]), float(job.threads), f"pilot: {seconds:.0f} s run"


@dataclass
class Estimate:
    rule: str
    jobs: int
    wall_h: float
    cpu_h: float
    gpu_h: float
    basis: str
    unknown: int = 0
    core_h: float = 0.0  # wall x threads: the cores the jobs hold


def estimate(jobs: list[Job], records, pilot_seconds: float = 0.0, device: str = "cpu") -> list[Estimate]:
    by_rule: dict[str, Estimate] = {}
    pilots: dict[tuple, tuple | None] = {}
    for job in jobs:
        row = by_rule.setdefault(job.rule, Estimate(job.rule, 0, 0.0, 0.0, 0.0, ""))
        row.jobs += 1
        if job.steps is None or not (job.rule.startswith("train_") or job.rule in PRETRAIN_JOBS):
            wall, cpu, basis = FIXED_SECONDS, FIXED_SECONDS, f"fixed: {FIXED_SECONDS:.0f} s a job"
        else:
            found = measured_rate(job, records)
            if found is None and pilot_seconds > 0 and job.rule.startswith("train_") and not job.has_input:
                if job.key not in pilots:
                    pilots[job.key] = pilot_rate(job, pilot_seconds)
                found = pilots[job.key]
            if found is None:
                row.unknown += 1
                row.basis = row.basis or "none: no record or pilot"
                continue
            rate, cpu_per_wall, basis = found
            wall = job.steps / rate
            cpu = wall * cpu_per_wall
        row.wall_h += wall / 3600
        row.core_h += wall * job.threads / 3600
        row.cpu_h += cpu / 3600
        row.gpu_h += wall / 3600 if device.startswith("cuda") and job.rule.startswith(("train_", "pretrain")) else 0.0
        if basis not in row.basis:
            row.basis = f"{row.basis}; {basis}" if row.basis else basis
    return sorted(by_rule.values(), key=lambda r: -r.wall_h)


def format_table(rows: list[Estimate], cores: int) -> str:
    lines = ["| rule | jobs | wall h (job sum) | CPU h | GPU h | basis |", "|---|---|---|---|---|---|"]
    for r in rows:
        unknown = f" ({r.unknown} without basis)" if r.unknown else ""
        lines.append(f"| {r.rule} | {r.jobs}{unknown} | {r.wall_h:.3f} | {r.cpu_h:.3f} | {r.gpu_h:.3f} | {r.basis} |")
    wall, cpu, gpu, core = (sum(getattr(r, k) for r in rows) for k in ("wall_h", "cpu_h", "gpu_h", "core_h"))
    lines.append(f"| **total** | {sum(r.jobs for r in rows)} | {wall:.3f} | {cpu:.3f} | {gpu:.3f} | |")
    missing = sum(r.unknown for r in rows)
    lines.append("")
    lines.append(
        f"With --cores {cores}: at least {core / cores * 60:.1f} min of wall time (the jobs' wall x threads over "
        f"{cores} cores; waiting on dependencies, e.g. a world model before its PWM runs, adds to it)."
        + (f" {missing} jobs have no basis and are not counted." if missing else "")
    )
    return "\n".join(lines)

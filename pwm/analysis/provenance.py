"""An experiment's provenance and cost, gathered from its runs' ``manifest.json`` files.

``provenance.csv``: one row per run that fed the experiment's aggregates (which code, packages and
hardware made it, and a short fingerprint of each). ``cost.csv``: each run's wall, CPU and GPU
seconds, peak memory and throughput, plus one ``(all)`` row per algorithm summing them.
:func:`mixing_warnings` names the runs when one experiment (so one figure) mixes code versions
or package sets. Stdlib, pandas and the manifest's JSON only: no torch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from pwm import atomic

MANIFEST_FILE = "manifest.json"  # pwm.manifest.MANIFEST_FILE (not imported: pwm.manifest is the harness's)
PROVENANCE_COLUMNS = [
    "algo",
    "task",
    "seed",
    "code",
    "commit",
    "dirty",
    "diff_sha256",
    "packages",
    "package_versions",
    "python",
    "cpu",
    "gpu",
    "threads",
    "inputs",
    "rule",
    "started",
    "ended",
    "manifest",
]
COST_COLUMNS = [
    "algo",
    "task",
    "seed",
    "runs",
    "wall_time_s",
    "cpu_time_s",
    "gpu_time_s",
    "peak_memory_mb",
    "steps",
    "env_steps",
    "steps_per_s",
    "env_steps_per_s",
    "attempts",
]


def fingerprint(value) -> str:
    """A short, stable hash of a JSON-able value (12 hex digits)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def read_manifests(run_files: list[str | Path], extra: list[Path] = ()) -> list[tuple[Path, dict]]:
    """``(path, manifest)`` of each run whose eval.csv has a readable manifest.json beside it, and of
    each ``extra`` manifest path."""
    found = []
    for path in [Path(f).with_name(MANIFEST_FILE) for f in run_files] + list(extra):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and "run" in data:
            found.append((path, data))
    return found


PRETRAINING_NAMES = {"pretraining": "world model (pretrain)", "pre-training": "world model (pretrain-single)"}


def identity(path: Path, manifest: dict) -> dict:
    """(algo, task, seed) of a run; a pre-training job's as ("world model (...)", its folder, seed)."""
    run = manifest["run"]
    if "job" in run:
        folder = path.parent.name
        return {
            "algo": PRETRAINING_NAMES.get(run["job"], run["job"]),
            "task": "(suite)" if folder == "world_model" else folder,
            "seed": (manifest.get("seeds") or {}).get("run"),
        }
    return {k: run.get(k) for k in ("algo", "task", "seed")}


def experiment_pretraining(scores_out: Path) -> list[Path]:
    """The manifests of the experiment's own world-model pre-training jobs (beside scores.csv)."""
    exp = Path(scores_out).parent
    return sorted([*exp.glob("world_model/manifest.json"), *exp.glob("world_models/*/manifest.json")])


def provenance_table(manifests: list[tuple[Path, dict]]) -> pd.DataFrame:
    rows = []
    for path, m in manifests:
        code, hardware = m.get("code") or {}, m.get("hardware") or {}
        attempts = m.get("attempts") or [{}]
        code_id = f"{(code.get('commit') or 'unknown')[:12]}" + (
            f"+{(code.get('diff_sha256') or '')[:8]}" if code.get("dirty") else ""
        )
        rows.append(
            {
                **identity(path, m),
                "code": code_id,
                "commit": code.get("commit"),
                "dirty": code.get("dirty"),
                "diff_sha256": code.get("diff_sha256"),
                "packages": fingerprint(m.get("packages")),
                "package_versions": json.dumps(m.get("packages"), sort_keys=True),
                "python": m.get("python"),
                "cpu": hardware.get("cpu"),
                "gpu": hardware.get("gpu"),
                "threads": m.get("threads"),
                "inputs": fingerprint(m.get("inputs")) if m.get("inputs") else "",
                "rule": (m.get("workflow") or {}).get("rule"),
                "started": attempts[0].get("started"),
                "ended": attempts[-1].get("ended"),
                "manifest": str(path),
            }
        )
    return pd.DataFrame(rows, columns=PROVENANCE_COLUMNS)


def cost_table(manifests: list[tuple[Path, dict]]) -> pd.DataFrame:
    """One row per finished run, then one ``task == "(all)"`` row per algorithm: the sums (peak
    memory: the maximum; throughputs: total steps over total wall time)."""
    rows = []
    for path, m in manifests:
        cost = m.get("cost")
        if not cost:
            continue
        rows.append({**identity(path, m), "runs": 1, **cost})
    runs = pd.DataFrame(rows, columns=COST_COLUMNS)
    if runs.empty:
        return runs
    totals = []
    for algo, group in runs.groupby("algo", sort=True):
        wall = group["wall_time_s"].sum()
        totals.append(
            {
                "algo": algo,
                "task": "(all)",
                "seed": None,
                "runs": len(group),
                "wall_time_s": wall,
                "cpu_time_s": group["cpu_time_s"].sum(),
                "gpu_time_s": group["gpu_time_s"].sum(),
                "peak_memory_mb": group["peak_memory_mb"].max(),
                "steps": group["steps"].sum(),
                "env_steps": group["env_steps"].sum(),
                "steps_per_s": group["steps"].sum() / wall if wall > 0 else None,
                "env_steps_per_s": group["env_steps"].sum() / wall if wall > 0 else None,
                "attempts": group["attempts"].sum(),
            }
        )
    frames = [runs.sort_values(["algo", "task", "seed"]), pd.DataFrame(totals, columns=COST_COLUMNS)]
    return pd.concat(frames, ignore_index=True)


def mixing_warnings(provenance: pd.DataFrame) -> list[str]:
    """One warning per kind of mixture (code versions, package sets) found among the runs."""
    warnings = []
    for column, what in (("code", "code versions"), ("packages", "package sets")):
        values = provenance[column].dropna().unique()
        if len(values) > 1:
            groups = [
                f"{value}: "
                + ", ".join(
                    f"{r.algo}/{r.task}/seed{r.seed}" for r in provenance[provenance[column] == value].itertuples()
                )
                for value in sorted(values)
            ]
            warnings.append(
                f"the runs of one figure mix {len(values)} {what} (see provenance.csv): " + "; ".join(groups)
            )
    return warnings


def write_provenance(run_files: list[str | Path], provenance_out: str | Path, cost_out: str | Path) -> list[str]:
    """Write both tables and return the mixing warnings (runs without a manifest are left out and
    counted in a warning)."""
    manifests = read_manifests(run_files)
    runs_with_manifest = len(manifests)
    manifests += read_manifests([], experiment_pretraining(Path(provenance_out)))
    provenance = provenance_table(manifests)
    atomic.write_csv(provenance_out, provenance)
    atomic.write_csv(cost_out, cost_table(manifests))
    warnings = mixing_warnings(provenance)
    if runs_with_manifest < len(run_files):
        warnings.append(f"{len(run_files) - runs_with_manifest} of {len(run_files)} runs have no manifest.json")
    return warnings


def cost_markdown(cost: pd.DataFrame) -> str:
    """The per-algorithm totals of ``cost.csv`` as a Markdown table (hours)."""
    totals = cost[cost["task"] == "(all)"]
    lines = [
        "| algorithm | runs | wall h | CPU h | GPU h | peak memory MiB | env steps/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in totals.itertuples():
        rate = f"{r.env_steps_per_s:.1f}" if pd.notna(r.env_steps_per_s) else "-"
        lines.append(
            f"| {r.algo} | {int(r.runs)} | {r.wall_time_s / 3600:.2f} | {r.cpu_time_s / 3600:.2f} | "
            f"{r.gpu_time_s / 3600:.2f} | {r.peak_memory_mb:.0f} | {rate} |"
        )
    lines.append(
        f"| **total** | {int(totals['runs'].sum())} | {totals['wall_time_s'].sum() / 3600:.2f} | "
        f"{totals['cpu_time_s'].sum() / 3600:.2f} | {totals['gpu_time_s'].sum() / 3600:.2f} | "
        f"{totals['peak_memory_mb'].max():.0f} | |"
    )
    return "\n".join(lines) + "\n"

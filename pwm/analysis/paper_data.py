"""The PWM paper's released files -> the series each paper figure plots (no drawing here).

Readers for the formats the project importers do not cover (DreamerV3's json, wandb exports
indexed by ``global_step`` or wall-clock time with ``_step`` columns, the policy-extraction
study), the notebooks' curve protocol, and one registry (``FIGURES``) of which released file
feeds which series of which figure, so the workflow (inputs, captions) and the drawing code
(what it says is missing) read the same list.

Curve protocol (``results/results.ipynb``, docs/reference-notes.md §5):

- step-indexed wandb exports (``Step`` or ``global_step``): the file's rows, each seed linearly
  interpolated over the rows (pandas' row-wise ``interpolate``, held at its last value after
  it stops), rows before the last seed's first log dropped, then every ``THIN``-th row;
- wall-clock exports (``Relative Time (Process)``): the same alignment, then resampled into
  ``SAMPLE_RATES`` bins (first value of a bin, empty bins interpolated), time counted from the
  first aligned row, environment steps = seconds x ``FPS[algo][env]``;
- a curve is the per-point IQM over seeds (25% trimmed mean) with a 95% percentile CI of
  rliable's stratified bootstrap (``np.random.seed`` first, so intervals are reproducible);
- a run's single-task score is its value at the peak of its algorithm's IQM curve, divided by
  PPO's peak IQM on that env (``ppo_scales``: from ``ppo_<env>_time.csv`` when released, else the
  notebook's hard-coded value, and the table says which).

Every output frame of plotted values has ``SERIES_COLUMNS`` (``panel, series, kind, x, value,
ci_low, ci_high``), written beside the figure as ``<figure>.csv``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics
from scipy.stats import trim_mean

from pwm.analysis.importers import MalformedInput, numeric, read_table, single_task_runs

SERIES_COLUMNS = ["panel", "series", "kind", "x", "value", "ci_low", "ci_high"]
PAPER_ENVS = ["hopper", "ant", "anymal", "humanoid", "humanoidsnu"]
ENV_TITLES = {
    "hopper": "Hopper",
    "ant": "Ant",
    "anymal": "Anymal",
    "humanoid": "Humanoid",
    "humanoidsnu": "SNU Humanoid",
}
SINGLE_TASK_ALGOS = ["pwm", "tdmpc2", "shac", "sac", "ppo"]
# Environment steps per second of wall-clock time (results.ipynb cell 2, ``fps_dict``).
FPS = {
    "ppo": {"anymal": 18300, "humanoid": 18500, "ant": 222800, "humanoidsnu": 21480, "hopper": 185000},
    "sac": {"anymal": 3000, "humanoid": 3400, "ant": 21000, "humanoidsnu": 6170, "hopper": 18200},
    "shac": {"anymal": 1140, "humanoid": 785, "ant": 12950, "humanoidsnu": 960, "hopper": 33100},
}
# Resampling of the wall-clock exports (results.ipynb cell 2, ``sample_rates``; 90 s otherwise).
SAMPLE_RATES = {"hopper": "10s", "ant": "30s", "anymal": "120s", "humanoid": "120s", "humanoidsnu": "120s"}
DEFAULT_RATE = "90s"
THIN = 10  # every 10th row of the step-indexed exports (the notebooks' ``downsample=10``)
# PPO's peak IQM return per env, hard-coded in results.ipynb cell 4 (used where ppo_<env>_time.csv
# is not released).
PPO_PEAK_IQM = {
    "ant": 6604.663357204862,
    "hopper": 4742.296956380208,
    "anymal": 12028.991672092014,
    "humanoid": 7292.7856852213545,
    "humanoidsnu": 4246.042073567708,
}
# Values the released files do not carry, as the notebooks hard-code them.
WORLD_MODEL_LOSSES = {"ReLU (simple)": 0.044, "Mish (no SimNorm)": 0.047, "SimNorm (PWM)": 0.054}
PWM_POLICY_EXTRACTION = {50_000: 80.0, 100_000: 120.0, 250_000: 890.0}
POLICY_EXTRACTION_TASKS = ["hopper-stand", "hopper-hop", "pendulum-swingup", "cartpole-swingup", "walker-run"]
POLICY_EXTRACTION_STEP = 50_000
STEP_COLUMNS = ("Step", "global_step")
TIME_COLUMN = "Relative Time (Process)"


# ---- the registry: figure -> series -> released files -----------------------------------------
def _single_task_files(algo: str, env: str) -> str:
    return f"{algo}_{env}.csv" if algo in ("pwm", "tdmpc2") else f"{algo}_{env}_time.csv"


def figure_series(name: str) -> dict[str, list[str]]:
    """{series label: the released files (relative to pwm-paper/ or to the shared reference
    folder for ``../tdmpc2-results/...``) it needs}, for paper figure ``name``."""
    if name in ("single_task", "locomotion_sweep"):
        return {f"{algo} {env}": [_single_task_files(algo, env)] for algo in SINGLE_TASK_ALGOS for env in PAPER_ENVS}
    if name == "multitask_experts":
        return {
            "pwm mt30": ["mt30_results.csv"],
            "tdmpc2 mt30": ["tdmpc2_mt30_scores.csv"],
            "dreamerv3": ["dmc_proprio-dreamerv3.json"],
            "sac": ["../tdmpc2-results/sac"],
        }
    if name == "horizon_ablation":
        return {
            f"{label} mt{s}": [f]
            for s in (30, 80)
            for label, f in (
                ("tdmpc2", f"tdmpc2_mt{s}_scores.csv"),
                ("pwm H=16", f"mt{s}_results.csv"),
                ("pwm H=3", f"mt{s}_results_h3.csv"),
            )
        }
    if name == "batch_size_ablation":
        return {f"batch {b}": [f"pwm_ant_bsz{b}.csv"] for b in (32, 128, 512, 1024, 2048)}
    if name == "world_model_ablation":
        return {
            "SimNorm (PWM)": ["pwm_ant.csv"],
            "Mish (no SimNorm)": ["pwm_ant_no_simnorm.csv"],
            "spectral norm": ["pwm_ant_spectralnorm.csv"],
            "ReLU (simple)": ["pwm_ant_simple.csv"],
        }
    if name == "activation_ablation":
        return {
            f"{label} {env}": [f"pwm_{env}{suffix}.csv"]
            for env in ("hopper", "anymal", "humanoid")
            for label, suffix in (("SimNorm", ""), ("Mish", "_mish"), ("ReLU", "_relu"))
        }
    if name == "hopper_stiffness":
        return {algo: [f"{algo}_hopper_stiff.csv"] for algo in ("pwm", "shac", "ppo")}
    if name == "policy_extraction":
        return {task: [f"tdmpc2_{task}_policy_extraction_study.csv"] for task in POLICY_EXTRACTION_TASKS}
    raise ValueError(f"unknown paper figure {name!r}; known: {', '.join(PAPER_FIGURES)}")


PAPER_FIGURES = [
    "single_task",
    "locomotion_sweep",
    "multitask_experts",
    "horizon_ablation",
    "batch_size_ablation",
    "world_model_ablation",
    "activation_ablation",
    "hopper_stiffness",
    "policy_extraction",
]
# Normalisers: which figures also read PPO's single-task files (their peaks scale the returns).
NEEDS_PPO_SCALES = {
    "single_task",
    "locomotion_sweep",
    "batch_size_ablation",
    "world_model_ablation",
    "activation_ablation",
    "hopper_stiffness",
}


def resolve(folder: Path, name: str) -> Path:
    return (folder / name).resolve() if name.startswith("..") else folder / name


def present_files(folder: str | Path, name: str) -> list[Path]:
    """The released files of figure ``name`` that exist in ``folder`` (pwm-paper/), incl. PPO's
    single-task files where they scale the figure."""
    folder = Path(folder)
    files = [f for group in figure_series(name).values() for f in group]
    if name in NEEDS_PPO_SCALES:
        files += [f"ppo_{env}_time.csv" for env in PAPER_ENVS]
    paths = [resolve(folder, f) for f in dict.fromkeys(files)]
    return [p for p in paths if p.exists()]


def missing_series(folder: str | Path, name: str) -> dict[str, list[str]]:
    """{series label: its absent files} of figure ``name``."""
    folder = Path(folder)
    return {
        label: [f for f in files if not resolve(folder, f).exists()]
        for label, files in figure_series(name).items()
        if not all(resolve(folder, f).exists() for f in files)
    }


def describe_missing(folder: str | Path, name: str) -> str:
    missing = missing_series(folder, name)
    if not missing:
        return "none (every released file this figure uses is present)"
    return "; ".join(f"{label} ({', '.join(files)})" for label, files in missing.items())


# ---- readers -------------------------------------------------------------------------------------
def read_runs(path: str | Path, metric: str | None = None) -> tuple[pd.DataFrame, str]:
    """A wandb export as a (x, run) table of floats (NaN where a run did not log), the x column's
    name (``Step``, ``global_step`` or ``Relative Time (Process)``). ``__MIN``/``__MAX`` and
    ``_step`` columns are ignored; rows where no run logged are dropped."""
    path = Path(path)
    frame = read_table(path)
    x_name = next((c for c in (*STEP_COLUMNS, TIME_COLUMN) if c in frame.columns), None)
    if x_name is None:
        raise MalformedInput(
            f"{path}, line 1: no {' / '.join((*STEP_COLUMNS, TIME_COLUMN))} column; found {list(frame.columns)[:6]}"
        )
    if metric is None and any(c.endswith(" - rewards/step") for c in frame.columns):
        metric = "rewards/step"  # the stiffness study's exports
    runs = single_task_runs(frame, path, metric)
    x = numeric(frame, x_name, path)
    table = pd.DataFrame(
        {run: numeric(frame, column, path, allow_empty=True).to_numpy() for column, run in runs.items()},
        index=pd.Index(x.to_numpy(), name=x_name),
    )
    table = table.dropna(how="all")
    if table.index.duplicated().any():  # wandb writes one row per run at a shared x: merge them
        twice = table.groupby(level=0).count() > 1
        if twice.any().any():
            run = twice.columns[twice.any()][0]
            raise MalformedInput(f"{path}: run {run!r} logs two values at {x_name} {twice.index[twice[run]][0]}")
        table = table.groupby(level=0).first()
    return table.sort_index(), x_name


def align(table: pd.DataFrame) -> pd.DataFrame:
    """Every run on the file's rows: linear over rows, held after a run stops, rows before the
    last run's first log dropped (the notebooks' ``interpolate().dropna()``)."""
    aligned = table.interpolate(method="linear", limit_direction="forward").dropna()
    if aligned.empty:
        raise ValueError("the runs' curves do not overlap")
    return aligned


def step_curve(table: pd.DataFrame, thin: int = THIN) -> pd.DataFrame:
    return align(table).iloc[::thin]


def time_curve(table: pd.DataFrame, rate: str = DEFAULT_RATE) -> pd.DataFrame:
    """Aligned runs resampled into ``rate`` bins of wall-clock time; index: seconds since the
    first aligned row."""
    aligned = align(table)
    aligned.index = pd.to_timedelta(aligned.index.to_numpy(dtype=float), unit="s")
    binned = aligned.resample(rate).first().interpolate()
    binned.index = (binned.index - binned.index[0]).total_seconds()
    binned.index.name = "seconds"
    return binned


def iqm_band(table: pd.DataFrame, reps: int, seed: int = 0) -> pd.DataFrame:
    """Per-row IQM over the runs with a 95% stratified-bootstrap CI (rliable); columns x, value,
    ci_low, ci_high."""
    scores = table.to_numpy(dtype=float).T[:, None, :]  # (runs, 1 task, points)
    np.random.seed(seed)
    points, cis = rly.get_interval_estimates({"a": scores}, lambda s: trim_mean(s, 0.25, axis=0).ravel(), reps=reps)
    return pd.DataFrame(
        dict(x=table.index.to_numpy(dtype=float), value=points["a"], ci_low=cis["a"][0], ci_high=cis["a"][1])
    )


def peak_row(table: pd.DataFrame) -> tuple[float, np.ndarray]:
    """(x, every run's value) at the peak of the across-run IQM curve."""
    center = trim_mean(table.to_numpy(dtype=float), 0.25, axis=1)
    j = int(np.argmax(center))
    return float(table.index[j]), table.iloc[j].to_numpy(dtype=float)


def is_time_indexed(algo: str) -> bool:
    return algo in FPS


def single_task_curve(folder: Path, algo: str, env: str) -> pd.DataFrame:
    """One algorithm's aligned runs on one env, indexed by environment steps; time-indexed
    exports also carry their seconds in the ``seconds`` attribute."""
    table, _ = read_runs(folder / _single_task_files(algo, env))
    if not is_time_indexed(algo):
        return step_curve(table)
    curve = time_curve(table, SAMPLE_RATES[env])
    seconds = curve.index.to_numpy()
    curve.index = pd.Index((seconds * FPS[algo][env]).astype(np.int64), name="env_steps")
    curve.attrs["seconds"] = seconds
    return curve


def ppo_scales(folder: str | Path) -> pd.DataFrame:
    """PPO's peak IQM return per env and where it comes from (the released PPO file, computed
    with the notebook's protocol, or results.ipynb cell 4's hard-coded value)."""
    rows = []
    for env in PAPER_ENVS:
        path = Path(folder) / f"ppo_{env}_time.csv"
        if path.is_file():
            curve = single_task_curve(Path(folder), "ppo", env)
            scale = float(trim_mean(curve.to_numpy(), 0.25, axis=1).max())
            rows.append(dict(task=env, rule="return / PPO peak IQM", scale=scale, source=f"computed from {path.name}"))
        else:
            rows.append(
                dict(
                    task=env,
                    rule="return / PPO peak IQM",
                    scale=PPO_PEAK_IQM[env],
                    source=f"results.ipynb cell 4 (hard-coded; ppo_{env}_time.csv not released)",
                )
            )
    return pd.DataFrame(rows)


def read_dreamerv3(path: str | Path) -> pd.DataFrame:
    """``dmc_proprio-dreamerv3.json`` (a list of {task, method, seed, xs, ys}) as tidy rows
    ``task, seed, step, episode_reward`` with TD-MPC2 task names (``dmc_ball_in_cup_catch`` ->
    ``cup-catch``)."""
    path = Path(path)
    try:
        records = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise MalformedInput(f"{path}: not JSON ({err})") from None
    if not isinstance(records, list) or not records:
        raise MalformedInput(f"{path}: expected a non-empty list of runs")
    frames = []
    for i, record in enumerate(records):
        missing = [k for k in ("task", "seed", "xs", "ys") if k not in record]
        if missing:
            raise MalformedInput(f"{path}: run {i} lacks {missing}")
        xs, ys = np.asarray(record["xs"], dtype=float), np.asarray(record["ys"], dtype=float)
        if xs.shape != ys.shape or xs.size == 0:
            raise MalformedInput(f"{path}: run {i} ({record['task']}) has {xs.size} xs and {ys.size} ys")
        if not np.all(np.isfinite(ys)):
            raise MalformedInput(f"{path}: run {i} ({record['task']}) has non-finite returns")
        task = record["task"].removeprefix("dmc_").replace("ball_in_cup", "cup").replace("_", "-")
        frames.append(pd.DataFrame(dict(task=task, seed=int(record["seed"]), step=xs, episode_reward=ys)))
    return pd.concat(frames, ignore_index=True)


def read_policy_extraction(path: str | Path) -> pd.DataFrame:
    """A policy-extraction export as (policy step, world-model training steps) rewards; the
    run names end in ``models/<N>.pt`` (the world model trained for N steps)."""
    table, _ = read_runs(path, metric="pretrain/episode_reward")
    steps = {}
    for run in table.columns:
        match = re.search(r"/(\d+)\.pt$", run)
        if not match:
            raise MalformedInput(f"{path}: run {run!r} does not name a models/<steps>.pt checkpoint")
        steps[run] = int(match.group(1))
    table = table.rename(columns=steps)
    return table[sorted(table.columns)].interpolate(limit_direction="forward")


# ---- results -------------------------------------------------------------------------------------
@dataclass
class FigureData:
    """What one figure plots (``series``, SERIES_COLUMNS), its Markdown table and notes."""

    series: pd.DataFrame
    table: str
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def series_rows(panel: str, series: str, kind: str, band: pd.DataFrame) -> pd.DataFrame:
    return band.assign(panel=panel, series=series, kind=kind)[SERIES_COLUMNS]


def interval_rows(panel: str, arrays: dict[str, np.ndarray], reps: int, seed: int = 0) -> pd.DataFrame:
    """IQM (95% percentile CI) and plain mean of each (runs, tasks) array, in rliable's call
    ``get_interval_estimates``; the array's first axis is what the bootstrap resamples."""
    np.random.seed(seed)
    points, cis = rly.get_interval_estimates(arrays, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=reps)
    rows = []
    for name, scores in arrays.items():
        rows.append(
            dict(
                panel=panel,
                series=name,
                kind="iqm",
                x=np.nan,
                value=float(points[name][0]),
                ci_low=float(cis[name][0, 0]),
                ci_high=float(cis[name][1, 0]),
            )
        )
        rows.append(
            dict(
                panel=panel,
                series=name,
                kind="mean",
                x=np.nan,
                value=float(np.mean(scores)),
                ci_low=np.nan,
                ci_high=np.nan,
            )
        )
    return pd.DataFrame(rows, columns=SERIES_COLUMNS)


def profile_rows(panel: str, arrays: dict[str, np.ndarray], taus: np.ndarray, reps: int, seed: int = 0):
    np.random.seed(seed)
    profiles, cis = rly.create_performance_profile(arrays, taus, reps=reps, confidence_interval_size=0.95)
    return pd.concat(
        [
            pd.DataFrame(
                dict(
                    panel=panel,
                    series=name,
                    kind="profile",
                    x=taus,
                    value=profiles[name],
                    ci_low=cis[name][0],
                    ci_high=cis[name][1],
                )
            )
            for name in arrays
        ],
        ignore_index=True,
    )[SERIES_COLUMNS]


def markdown(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """A small Markdown table (no extra dependency)."""

    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return "" if np.isnan(v) else format(v, floatfmt)
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def interval_table(rows: pd.DataFrame, extra: dict | None = None) -> pd.DataFrame:
    """panel, series, IQM [CI], mean (+ extra per-series columns) from interval_rows output."""
    out = []
    for (panel, series), part in rows.groupby(["panel", "series"], sort=False):
        iqm = part[part.kind == "iqm"].iloc[0]
        mean = part[part.kind == "mean"].iloc[0]
        row = {
            "panel": panel,
            "series": series,
            "IQM [95% CI]": f"{iqm.value:.3f} [{iqm.ci_low:.3f}, {iqm.ci_high:.3f}]",
            "mean": f"{mean.value:.3f}",
        }
        row.update((extra or {}).get((panel, series), {}))
        out.append(row)
    return pd.DataFrame(out)

"""The PWM paper's figures beyond the multitask aggregates, from its released files alone.

``python -m pwm.analysis.paper_figures FIGURE --published-dir DIR --out-dir OUT [--reps N]``
writes ``OUT/FIGURE.{pdf,png}``, the plotted values as ``OUT/FIGURE.csv`` (``SERIES_COLUMNS``)
and a Markdown table with the notes as ``OUT/FIGURE.md``. A series whose released file is absent
is left out, named in the figure's note, the table and the log; the same command with the file
dropped into ``DIR`` draws the full figure. ``single_task`` also writes the aggregate CSVs of
``pwm-bench aggregate`` (``--stats-dir``), the improvement figure and the single-task tables.

Figures (PWM repository name in brackets): single_task (dflex_results_agg), locomotion_sweep,
multitask_experts (mutlitask_full, right), horizon_ablation, batch_size_ablation,
world_model_ablation, activation_ablation (world_model_ablation_2), hopper_stiffness (+ _agg),
policy_extraction (learning_rate_abl). Statistics: rliable IQM (solid tick) with 95% percentile
stratified-bootstrap CIs, plain mean (dashed tick), ``np.random.seed(seed)`` before each call.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pwm import atomic  # noqa: E402
from pwm.analysis import figures, style, tables  # noqa: E402
from pwm.analysis import paper_data as pdata  # noqa: E402
from pwm.analysis.aggregate import AGGREGATE_COLUMNS, PROFILE_COLUMNS, interval_estimates, performance_profiles  # noqa: E402
from pwm.analysis.curves import CURVE_COLUMNS  # noqa: E402
from pwm.analysis.importers import import_published, seed_of  # noqa: E402
from pwm.analysis.improvement import IMPROVEMENT_COLUMNS, improvement_estimates  # noqa: E402
from pwm.analysis.scores import normalized_score  # noqa: E402
from pwm.envs.suites import MT30  # noqa: E402

ALGO_NAMES = {"pwm": "pwm", "tdmpc2": "tdmpc2", "shac": "shac", "sac": "sac", "ppo": "ppo"}
# Ablation variants get fixed colours of the notebooks' choices (their palette slots).
VARIANT_COLORS = {
    "SimNorm (PWM)": "pwm",
    "SimNorm": "pwm",
    "Mish (no SimNorm)": "shac",
    "Mish": "shac",
    "ReLU (simple)": "ppo",
    "ReLU": "ppo",
    "spectral norm": "sac",
    "PWM H=16": "pwm",
    "PWM H=3": "ppo",
    "TD-MPC2": "tdmpc2",
    "PWM": "pwm",
    "SAC": "sac",
    "DreamerV3": "dreamerv3",
    "TD-MPC2 (MT30)": "tdmpc2",
    "PWM (MT30)": "pwm",
    "SHAC": "shac",
    "PPO": "ppo",
}


def color(name: str):
    if name in VARIANT_COLORS:
        return style.color(VARIANT_COLORS[name])
    return style.color(name)


def sorted_runs(table: pd.DataFrame) -> pd.DataFrame:
    """Columns ordered by the runs' trailing numbers (the importers' seeds), as the aggregates do."""
    order = sorted(range(table.shape[1]), key=lambda i: (seed_of(str(table.columns[i]), i), i))
    return table.iloc[:, order]


def stack_runs(per_task: dict[str, np.ndarray], label: str, notes: list[str]) -> np.ndarray:
    """(tasks, runs) from per-task run vectors; unequal run counts are cut to the smallest (noted)."""
    counts = {t: len(v) for t, v in per_task.items()}
    n = min(counts.values())
    if len(set(counts.values())) > 1:
        notes.append(f"{label}: run counts differ across tasks {counts}; the first {n} runs of each are used")
    return np.stack([v[:n] for v in per_task.values()])


def missing_note(missing: dict[str, list[str]]) -> str:
    if not missing:
        return "Missing series: none."
    return (
        "Missing series (file not in published_dir): "
        + "; ".join(f"{k} ({', '.join(v)})" for k, v in missing.items())
        + "."
    )


# ---- single task (dflex_results_agg) and locomotion sweep --------------------------------------
def single_task_curves(folder: Path) -> dict[tuple[str, str], pd.DataFrame]:
    curves = {}
    for algo in pdata.SINGLE_TASK_ALGOS:
        for env in pdata.PAPER_ENVS:
            if (folder / pdata._single_task_files(algo, env)).is_file():
                curves[algo, env] = sorted_runs(pdata.single_task_curve(folder, algo, env))
    return curves


def single_task(folder: Path, reps: int, seed: int = 0, curves=None, scales=None):
    """The five-algorithm single-task statistics (``Aggregates``-like dict of frames + FigureData)."""
    notes: list[str] = []
    curves = single_task_curves(folder) if curves is None else curves
    scales = pdata.ppo_scales(folder) if scales is None else scales
    scale = dict(zip(scales.task, scales.scale))
    run_rows, curve_rows, per_algo = [], [], {}
    for (algo, env), table in curves.items():
        x, values = pdata.peak_row(table)
        per_algo.setdefault(algo, {})[env] = values / scale[env]
        run_rows += [
            dict(group="single-task", algo=algo, task=env, seed=seed_of(str(run), i), env_steps=x, score=v / scale[env])
            for i, (run, v) in enumerate(zip(table.columns, values))
        ]
        band = pdata.iqm_band(table, reps, seed)
        curve_rows.append(
            pd.DataFrame(
                dict(
                    group="single-task",
                    algo=algo,
                    task=env,
                    env_steps=band.x,
                    value=band.value,
                    ci_low=band.ci_low,
                    ci_high=band.ci_high,
                )
            )
        )
    algos = [a for a in pdata.SINGLE_TASK_ALGOS if a in per_algo]
    # (envs, runs), envs in name order as in `pwm-bench aggregate` (the order fixes which values a
    # seeded bootstrap draws, so the intervals equal the aggregate pipeline's)
    matrices = {a: stack_runs(dict(sorted(per_algo[a].items())), a, notes) for a in algos}
    for a in algos:
        absent = [e for e in pdata.PAPER_ENVS if e not in per_algo[a]]
        if absent:
            notes.append(
                f"{style.label(a)} is aggregated over {len(per_algo[a])} of 5 envs "
                f"({', '.join(per_algo[a])}); absent: {', '.join(absent)}"
            )
    bootstrap = {a: m[:, :, None] for a, m in matrices.items()}  # the paper's tasks-as-runs layout
    estimates = interval_estimates(bootstrap, reps, seed)
    estimates.loc[estimates.metric == "median", ["ci_low", "ci_high"]] = np.nan
    aggregates = estimates.assign(group="single-task")[AGGREGATE_COLUMNS]
    taus = np.linspace(0.5, 2.0, 100)
    profiles = performance_profiles(bootstrap, taus, reps, seed).assign(group="single-task")[PROFILE_COLUMNS]
    improvement = []
    for x, y in itertools.combinations(algos, 2):
        shared = [e for e in pdata.PAPER_ENVS if e in per_algo[x] and e in per_algo[y]]
        pair = {a: np.stack([per_algo[a][e] for e in shared], axis=1) for a in (x, y)}  # (runs, envs)
        improvement.append(improvement_estimates(pair, "single-task", reps, seed, 0.95))
    improvement = (
        pd.concat(improvement, ignore_index=True) if improvement else pd.DataFrame(columns=IMPROVEMENT_COLUMNS)
    )
    stats = dict(
        aggregates=aggregates,
        profiles=profiles,
        improvement=improvement,
        curves=pd.concat(curve_rows, ignore_index=True)[CURVE_COLUMNS]
        if curve_rows
        else pd.DataFrame(columns=CURVE_COLUMNS),
        run_scores=pd.DataFrame(run_rows),
        normalization=scales,
    )
    series = pd.concat(
        [
            stats["curves"].rename(columns={"task": "panel", "algo": "series", "env_steps": "x"}).assign(kind="curve"),
            aggregates[aggregates.metric.isin(["iqm", "mean"])]
            .rename(columns={"algo": "series", "metric": "kind"})
            .assign(panel="aggregate", x=np.nan),
            profiles.rename(columns={"algo": "series", "tau": "x"}).assign(panel="profile", kind="profile"),
        ],
        ignore_index=True,
    )[pdata.SERIES_COLUMNS]
    per_env = pd.DataFrame(
        [
            {
                "algorithm": style.label(a),
                **{
                    pdata.ENV_TITLES[e]: trim_iqm(per_algo[a][e]) if e in per_algo[a] else np.nan
                    for e in pdata.PAPER_ENVS
                },
            }
            for a in algos
        ]
    )
    table = (
        "### Aggregate PPO-normalised score (95% CIs; tasks resampled as in the paper)\n\n"
        + tables.aggregate_table(aggregates)
        + "\n\n### Per-env IQM over seeds at each algorithm's IQM peak\n\n"
        + pdata.markdown(per_env)
        + "\n\n### PPO normalisers\n\n"
        + pdata.markdown(scales, ".2f")
    )
    return stats, pdata.FigureData(series, table, notes)


def trim_iqm(values) -> float:
    from scipy.stats import trim_mean

    return float(trim_mean(np.asarray(values, dtype=float), 0.25))


def locomotion_sweep(folder: Path, reps: int, seed: int = 0, curves=None, scales=None) -> pdata.FigureData:
    """Per-env PPO-normalised IQM curves over environment steps (all algorithms) and over wall-clock
    minutes (the time-indexed exports only: PWM's and TD-MPC2's are indexed by steps)."""
    notes = ["PWM and TD-MPC2 were released against environment steps only, so they have no wall-clock curve"]
    curves = single_task_curves(folder) if curves is None else curves
    scales = pdata.ppo_scales(folder) if scales is None else scales
    scale = dict(zip(scales.task, scales.scale))
    rows = []
    for (algo, env), table in curves.items():
        norm = table / scale[env]
        rows.append(pdata.series_rows(f"{env} steps", algo, "curve", pdata.iqm_band(norm, reps, seed)))
        if pdata.is_time_indexed(algo):
            timed = norm.copy()
            timed.index = pd.Index(np.asarray(norm.index, dtype=float) / pdata.FPS[algo][env] / 60.0)
            rows.append(pdata.series_rows(f"{env} minutes", algo, "curve", pdata.iqm_band(timed, reps, seed)))
    series = pd.concat(rows, ignore_index=True)
    peaks = series.loc[series.groupby(["panel", "series"]).value.idxmax()]
    peaks = peaks[peaks.panel.str.endswith("steps")]
    table = pdata.markdown(
        pd.DataFrame(
            dict(
                env=peaks.panel.str.removesuffix(" steps"),
                algorithm=peaks.series.map(style.label),
                peak_iqm=peaks.value,
                ci_low=peaks.ci_low,
                ci_high=peaks.ci_high,
                at_env_steps=peaks.x,
            )
        ),
        ".3f",
    )
    return pdata.FigureData(series, "### Peak of each PPO-normalised IQM curve\n\n" + table, notes)


# ---- multitask: PWM against single-task experts; horizon ablation -----------------------------
def multitask_scores(path: Path, algo: str) -> pd.DataFrame:
    scores = import_published("pwm-multitask", algo, [path])
    scores["score"] = np.nan
    for task, idx in scores.groupby("task").groups.items():
        part = scores.loc[idx]
        scores.loc[idx, "score"] = normalized_score(task, part.episode_reward, part.episode_success)
    return scores


def task_matrix(scores: pd.DataFrame, tasks: list[str], label: str, notes: list[str]) -> np.ndarray:
    """(tasks, runs) of the final scores of ``tasks`` (in that order)."""
    return stack_runs({t: scores[scores.task == t].sort_values("seed").score.to_numpy() for t in tasks}, label, notes)


def multitask_experts(folder: Path, reps: int, seed: int = 0) -> pdata.FigureData:
    notes: list[str] = []
    sac_dir = pdata.resolve(folder, "../tdmpc2-results/sac")
    dreamer_path = folder / "dmc_proprio-dreamerv3.json"
    dreamer = pdata.read_dreamerv3(dreamer_path) if dreamer_path.is_file() else None
    tasks = [t for t in MT30 if dreamer is None or t in set(dreamer.task)]
    if sac_dir.is_dir():
        tasks = [t for t in tasks if (sac_dir / f"{t}.csv").is_file()]
    arrays, steps = {}, {}
    if (folder / "mt30_results.csv").is_file():
        arrays["PWM (MT30)"] = task_matrix(multitask_scores(folder / "mt30_results.csv", "pwm"), tasks, "PWM", notes)
    if (folder / "tdmpc2_mt30_scores.csv").is_file():
        arrays["TD-MPC2 (MT30)"] = task_matrix(
            multitask_scores(folder / "tdmpc2_mt30_scores.csv", "tdmpc2"), tasks, "TD-MPC2", notes
        )
    if sac_dir.is_dir():
        sac = import_published("tdmpc2-results", "sac", [sac_dir], tasks=tasks)
        best = sac.groupby(["task", "seed"]).episode_reward.max().reset_index()
        arrays["SAC"] = stack_runs(
            {t: best[best.task == t].episode_reward.to_numpy() / 1000.0 for t in tasks}, "SAC", notes
        )
        steps["SAC"] = int(sac.env_steps.max())
    if dreamer is not None:
        best = dreamer[dreamer.task.isin(tasks)].groupby(["task", "seed"]).episode_reward.max().reset_index()
        arrays["DreamerV3"] = stack_runs(
            {t: best[best.task == t].episode_reward.to_numpy() / 1000.0 for t in tasks}, "DreamerV3", notes
        )
        steps["DreamerV3"] = int(dreamer.step.max())
    notes.append(f"{len(tasks)} shared tasks: {', '.join(tasks)}")
    notes.append(
        "experts (SAC, DreamerV3): each run's maximum over training, / 1000 (the notebook's rule); "
        + ", ".join(f"{k} curves reach {v:,} steps" for k, v in steps.items())
    )
    bootstrap = {k: v[:, :, None] for k, v in arrays.items()}  # tasks resampled (the paper's layout)
    series = pd.concat(
        [
            pdata.interval_rows("MT30 tasks", bootstrap, reps, seed),
            pdata.profile_rows("profile", bootstrap, np.linspace(0, 1, 100), reps, seed),
        ],
        ignore_index=True,
    )
    extra = {("MT30 tasks", k): {"tasks": v.shape[0], "runs per task": v.shape[1]} for k, v in arrays.items()}
    table = pdata.markdown(pdata.interval_table(series[series.kind != "profile"], extra))
    return pdata.FigureData(series, table, notes, extra=dict(tasks=tasks))


def horizon_ablation(folder: Path, reps: int, seed: int = 0) -> pdata.FigureData:
    notes, rows, extra = [], [], {}
    for suite in (30, 80):
        files = {
            "TD-MPC2": f"tdmpc2_mt{suite}_scores.csv",
            "PWM H=3": f"mt{suite}_results_h3.csv",
            "PWM H=16": f"mt{suite}_results.csv",
        }
        arrays = {}
        full = [t for t in MT30] if suite == 30 else None
        for label, name in files.items():
            if not (folder / name).is_file():
                continue
            scores = multitask_scores(folder / name, label)
            tasks = sorted(scores.task.unique())
            arrays[label] = task_matrix(scores, tasks, label, notes)[:, :, None]
            extra[f"MT{suite}", label] = {"tasks": len(tasks)}
            reference = full or (
                sorted(multitask_scores(folder / files["PWM H=16"], "x").task.unique())
                if (folder / files["PWM H=16"]).is_file()
                else tasks
            )
            absent = sorted(set(reference) - set(tasks))
            if absent:
                notes.append(
                    f"MT{suite} {label}: the released file lacks {', '.join(absent)}; aggregated over "
                    f"its {len(tasks)} tasks, as in the notebook"
                )
        if arrays:
            rows.append(pdata.interval_rows(f"MT{suite}", arrays, reps, seed))
    series = pd.concat(rows, ignore_index=True)
    table = pdata.markdown(pdata.interval_table(series, extra))
    return pdata.FigureData(series, table, notes)


# ---- ablations over curves -----------------------------------------------------------------------
def normalised_step_curves(
    folder: Path, variants: dict[str, str], panel: str, scale: float, reps: int, seed: int, thin: int = pdata.THIN
) -> list[pd.DataFrame]:
    rows = []
    for label, name in variants.items():
        if (folder / name).is_file():
            table, _ = pdata.read_runs(folder / name)
            norm = pdata.step_curve(table, thin) / scale
            rows.append(pdata.series_rows(panel, label, "curve", pdata.iqm_band(norm, reps, seed)))
    return rows


def peak_table(series: pd.DataFrame) -> str:
    curves = series[series.kind == "curve"]
    peaks = curves.loc[curves.groupby(["panel", "series"], sort=False).value.idxmax()]
    return "### Peak of each IQM curve (PPO-normalised)\n\n" + pdata.markdown(
        peaks[["panel", "series", "value", "ci_low", "ci_high", "x"]].rename(columns={"value": "peak_iqm", "x": "at_x"})
    )


def scale_note(scales: pd.DataFrame, env: str) -> str:
    row = scales.set_index("task").loc[env]
    return f"{env} PPO normaliser {row.scale:.2f} ({row.source})"


def batch_size_ablation(folder: Path, reps: int, seed: int = 0, scales=None) -> pdata.FigureData:
    scales = pdata.ppo_scales(folder) if scales is None else scales
    scale = float(scales.set_index("task").loc["ant", "scale"])
    notes, rows, digests = [scale_note(scales, "ant")], [], {}
    for size in (32, 128, 512, 1024, 2048):
        path = folder / f"pwm_ant_bsz{size}.csv"
        if not path.is_file():
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in digests:
            notes.append(f"pwm_ant_bsz{size}.csv is byte-identical to pwm_ant_bsz{digests[digest]}.csv in the release")
        digests.setdefault(digest, size)
        table, _ = pdata.read_runs(path)
        curve = pdata.time_curve(table, pdata.DEFAULT_RATE) / scale
        curve.index = curve.index / 60.0
        rows.append(pdata.series_rows("ant", f"batch {size}", "curve", pdata.iqm_band(curve, reps, seed)))
    series = pd.concat(rows, ignore_index=True)
    return pdata.FigureData(series, peak_table(series), notes)


def world_model_ablation(folder: Path, reps: int, seed: int = 0, scales=None) -> pdata.FigureData:
    scales = pdata.ppo_scales(folder) if scales is None else scales
    scale = float(scales.set_index("task").loc["ant", "scale"])
    variants = {
        "SimNorm (PWM)": "pwm_ant.csv",
        "Mish (no SimNorm)": "pwm_ant_no_simnorm.csv",
        "spectral norm": "pwm_ant_spectralnorm.csv",
        "ReLU (simple)": "pwm_ant_simple.csv",
    }
    rows = normalised_step_curves(folder, variants, "ant", scale, reps, seed)
    rows.append(
        pd.DataFrame(
            [
                dict(
                    panel="world model loss",
                    series=k,
                    kind="hardcoded",
                    x=np.nan,
                    value=v,
                    ci_low=np.nan,
                    ci_high=np.nan,
                )
                for k, v in pdata.WORLD_MODEL_LOSSES.items()
            ]
        )
    )
    notes = [
        scale_note(scales, "ant"),
        "world-model losses are not in the released files: hard-coded in results.ipynb cell 15 "
        f"({', '.join(f'{k} {v}' for k, v in pdata.WORLD_MODEL_LOSSES.items())})",
        "the notebook drops the first 8 points of the no-SimNorm curve and re-zeros its step axis; "
        "drawn here as released",
    ]
    series = pd.concat(rows, ignore_index=True)
    return pdata.FigureData(series, peak_table(series), notes)


def activation_ablation(folder: Path, reps: int, seed: int = 0, scales=None) -> pdata.FigureData:
    scales = pdata.ppo_scales(folder) if scales is None else scales
    scale = dict(zip(scales.task, scales.scale))
    rows = []
    for env in ("hopper", "anymal", "humanoid"):
        variants = {"SimNorm": f"pwm_{env}.csv", "Mish": f"pwm_{env}_mish.csv", "ReLU": f"pwm_{env}_relu.csv"}
        rows += normalised_step_curves(folder, variants, env, scale[env], reps, seed)
    series = pd.concat(rows, ignore_index=True)
    return pdata.FigureData(
        series, peak_table(series), [scale_note(scales, e) for e in ("hopper", "anymal", "humanoid")]
    )


def hopper_stiffness(folder: Path, reps: int, seed: int = 0, scales=None) -> pdata.FigureData:
    scales = pdata.ppo_scales(folder) if scales is None else scales
    scale = float(scales.set_index("task").loc["hopper", "scale"])
    rows, peaks = [], {}
    for algo, thin in (("ppo", 1), ("shac", pdata.THIN), ("pwm", pdata.THIN)):  # the notebook's downsampling
        path = folder / f"{algo}_hopper_stiff.csv"
        if not path.is_file():
            continue
        table, _ = pdata.read_runs(path)
        norm = pdata.step_curve(table, thin) / scale
        rows.append(pdata.series_rows("hopper (stiff contacts)", algo, "curve", pdata.iqm_band(norm, reps, seed)))
        peaks[algo] = pdata.peak_row(norm)[1][:, None]  # (runs, 1 task)
    rows.append(pdata.interval_rows("peak", peaks, reps, seed))
    series = pd.concat(rows, ignore_index=True)
    notes = [
        scale_note(scales, "hopper"),
        "bars: every seed at the peak of its algorithm's IQM curve "
        "(seeds resampled); curves not smoothed (the notebook smooths with an EWM of 0.7)",
    ]
    table = pdata.markdown(pdata.interval_table(series[series.panel == "peak"]))
    return pdata.FigureData(series, table + "\n\n" + peak_table(series), notes)


def policy_extraction(folder: Path, reps: int = 0, seed: int = 0) -> pdata.FigureData:
    rows, at_step = [], {}
    for task in pdata.POLICY_EXTRACTION_TASKS:
        path = folder / f"tdmpc2_{task}_policy_extraction_study.csv"
        if not path.is_file():
            continue
        table = pdata.read_policy_extraction(path)
        for wm_steps in table.columns:
            col = table[wm_steps].dropna()
            rows.append(
                pd.DataFrame(
                    dict(
                        panel=task,
                        series=f"{wm_steps}",
                        kind="curve",
                        x=col.index,
                        value=col.values,
                        ci_low=np.nan,
                        ci_high=np.nan,
                    )
                )
            )
        if pdata.POLICY_EXTRACTION_STEP not in table.index:
            raise ValueError(f"{path}: no row at policy step {pdata.POLICY_EXTRACTION_STEP}")
        at_step[task] = table.loc[pdata.POLICY_EXTRACTION_STEP]
    summary = pd.DataFrame(at_step).T  # tasks x world-model steps
    mean = summary.mean(axis=0) / 1000.0
    rows.append(
        pd.DataFrame(
            dict(
                panel="summary",
                series="TD-MPC2",
                kind="mean",
                x=mean.index.astype(float),
                value=mean.values,
                ci_low=np.nan,
                ci_high=np.nan,
            )
        )
    )
    rows.append(
        pd.DataFrame(
            dict(
                panel="summary",
                series="PWM",
                kind="hardcoded",
                x=np.array(list(pdata.PWM_POLICY_EXTRACTION), dtype=float),
                value=np.array(list(pdata.PWM_POLICY_EXTRACTION.values())) / 1000.0,
                ci_low=np.nan,
                ci_high=np.nan,
            )
        )
    )
    notes = [
        f"TD-MPC2: episode reward at policy step {pdata.POLICY_EXTRACTION_STEP:,}, mean over "
        f"{len(at_step)} tasks, / 1000; the exports hold wandb group means, so there are no CIs",
        "PWM's points are not in the released files: hard-coded in multitask.ipynb cell 11 "
        "(values 80, 120, 890, 'approximation from files')",
    ]
    table = summary.copy()
    table.columns = [f"WM {c:,} steps" for c in table.columns]
    table.insert(0, "task", table.index)
    return pdata.FigureData(
        pd.concat(rows, ignore_index=True), pdata.markdown(table.reset_index(drop=True), ".1f"), notes
    )


# ---- drawing -------------------------------------------------------------------------------------
def band(ax, part: pd.DataFrame, name: str, ls: str = "-"):
    part = part.sort_values("x")
    ax.plot(part.x, part.value, color=color(name), ls=ls, label=style.label(name) if name in ALGO_NAMES else name)
    if part.ci_low.notna().any():
        ax.fill_between(part.x, part.ci_low, part.ci_high, color=color(name), alpha=0.2, lw=0)


def finish(fig, stem, note: str, names: list[str]) -> list[Path]:
    handles = [matplotlib.patches.Patch(color=color(n), label=style.label(n) if n in ALGO_NAMES else n) for n in names]
    fig.tight_layout()
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 6), frameon=False)
    fig.text(0.0, -0.08, note, fontsize=5, ha="left", va="top", wrap=True)
    return figures.save(fig, stem)


def bars(ax, rows: pd.DataFrame, names: list[str], y0: float = 0.0):
    """IQM interval bars (solid tick) with the mean as a dashed tick, one row per name."""
    for i, name in enumerate(names):
        part = rows[rows.series == name]
        if part.empty:
            continue
        iqm, mean = part[part.kind == "iqm"].iloc[0], part[part.kind == "mean"].iloc[0]
        y = y0 + i
        ax.barh(y, max(iqm.ci_high - iqm.ci_low, 1e-3), left=iqm.ci_low, height=0.6, color=color(name), alpha=0.85)
        ax.vlines(iqm.value, y - 0.3, y + 0.3, color="black", lw=1.0)
        ax.vlines(mean.value, y - 0.3, y + 0.3, color="black", lw=1.0, linestyles="dashed", alpha=0.6)


def draw_curves_grid(
    data: pdata.FigureData,
    stem,
    panels: list[str],
    titles: list[str],
    xlabel,
    ylabel,
    note,
    ncols: int | None = None,
    nrows: int = 1,
    extra_panel=None,
    xlim_to: str | None = None,
) -> list[Path]:
    style.paper_style()
    n = len(panels) + (1 if extra_panel else 0)
    ncols = ncols or n
    fig, axes = plt.subplots(nrows, ncols, figsize=(style.TEXT_WIDTH_IN, 1.7 * nrows + 0.3), squeeze=False)
    names = list(dict.fromkeys(data.series[data.series.kind == "curve"].series))
    for ax, panel, title, xl in zip(axes.flat, panels, titles, xlabel if isinstance(xlabel, list) else [xlabel] * n):
        part = data.series[(data.series.panel == panel) & (data.series.kind == "curve")]
        for name in names:
            if (part.series == name).any():
                band(ax, part[part.series == name], name)
        if part.empty:
            ax.text(0.5, 0.5, "no released data", ha="center", va="center", transform=ax.transAxes, fontsize=6)
        ax.set_title(title)
        ax.set_xlabel(xl)
        if xlim_to and (part.series == xlim_to).any():  # the notebook's x range: PWM's
            ax.set_xlim(0, part[part.series == xlim_to].x.max())
        if "steps" in xl.lower():
            ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(sep=""))
    for row in axes:
        row[0].set_ylabel(ylabel)
    if extra_panel:
        extra_panel(list(axes.flat)[len(panels)])
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return finish(fig, stem, note, names)


def draw_single_task(stats, data: pdata.FigureData, out: Path, note: str) -> list[Path]:
    written = figures.plot_single_task(
        stats["curves"],
        stats["aggregates"],
        stats["profiles"],
        out / "single_task",
        xlabel="PPO-normalized score",
        note=note,
    )
    written += figures.plot_improvement(stats["improvement"], out / "improvement")
    return written


def draw_locomotion_sweep(data, stem, note):
    envs = pdata.PAPER_ENVS
    panels = [f"{e} steps" for e in envs] + [f"{e} minutes" for e in envs]
    titles = [pdata.ENV_TITLES[e] for e in envs] * 2
    xlabels = ["Environment steps"] * 5 + ["Wall-clock time (min)"] * 5
    return draw_curves_grid(
        data, stem, panels, titles, xlabels, "PPO-normalized\nreturn (IQM)", note, ncols=5, nrows=2, xlim_to="pwm"
    )


def draw_interval_figure(data: pdata.FigureData, stem, note, panels: list[str], names: list[str], profile=False):
    style.paper_style()
    ncols = len(panels) + (1 if profile else 0)
    fig, axes = plt.subplots(
        1, ncols, figsize=(style.COLUMN_WIDTH_IN * ncols * 0.85, 0.3 * len(names) + 1.2), squeeze=False
    )
    for ax, panel in zip(axes[0], panels):
        rows = data.series[data.series.panel == panel]
        present = [n for n in names if (rows.series == n).any()]
        bars(ax, rows, present)
        ax.set_yticks(range(len(present)), present)
        ax.invert_yaxis()
        ax.set_title(panel)
        ax.set_xlabel("Normalized score")
    if profile:
        ax = axes[0][-1]
        rows = data.series[data.series.kind == "profile"]
        for name in names:
            if (rows.series == name).any():
                band(ax, rows[rows.series == name], name)
        ax.set_xlabel(r"Normalized score $\tau$")
        ax.set_ylabel(r"Fraction of runs with score $> \tau$")
        ax.set_title("Performance profile")
    return finish(fig, stem, note, [n for n in names if (data.series.series == n).any()])


def draw_world_model(data, stem, note):
    def losses(ax):
        rows = data.series[data.series.kind == "hardcoded"]
        ax.bar(range(len(rows)), rows.value, color=[color(s) for s in rows.series])
        ax.set_xticks(range(len(rows)), rows.series, rotation=30, ha="right", fontsize=5)
        ax.set_ylim(0.04, 0.056)
        ax.set_title("World-model loss\n(hard-coded in the notebook)")

    return draw_curves_grid(
        data, stem, ["ant"], ["Ant"], "Environment steps", "PPO-normalized return (IQM)", note, extra_panel=losses
    )


def draw_hopper_stiffness(data, stem, note):
    def agg(ax):
        rows = data.series[data.series.panel == "peak"]
        names = [n for n in ("pwm", "shac", "ppo") if (rows.series == n).any()]
        bars(ax, rows, names)
        ax.set_yticks(range(len(names)), [style.label(n) for n in names])
        ax.invert_yaxis()
        ax.set_xlabel("PPO-normalized return")
        ax.set_title("IQM at the peak")

    return draw_curves_grid(
        data,
        stem,
        ["hopper (stiff contacts)"],
        ["Hopper, stiff contacts"],
        "Environment steps",
        "PPO-normalized return (IQM)",
        note,
        extra_panel=agg,
    )


def draw_policy_extraction(data, stem, note):
    style.paper_style()
    tasks = [t for t in pdata.POLICY_EXTRACTION_TASKS if (data.series.panel == t).any()]
    fig, axes = plt.subplots(1, len(tasks) + 1, figsize=(style.TEXT_WIDTH_IN, 1.8), squeeze=False)
    shades = {50000: 0.35, 100000: 0.65, 250000: 1.0}
    for ax, task in zip(axes[0], tasks):
        part = data.series[data.series.panel == task]
        for name, rows in part.groupby("series", sort=False):
            ax.plot(
                rows.x,
                rows.value,
                color=color("tdmpc2"),
                alpha=shades.get(int(name), 1.0),
                label=f"WM {int(name) // 1000}k steps",
            )
        ax.set_title(task)
        ax.set_xlabel("Policy steps")
        ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(sep=""))
    axes[0][0].set_ylabel("Episode reward")
    axes[0][0].legend(frameon=False, fontsize=5)
    ax = axes[0][-1]
    for name, rows in data.series[data.series.panel == "summary"].groupby("series", sort=False):
        ax.plot(
            rows.x,
            rows.value,
            marker="o",
            color=color(name),
            ls="--" if name == "PWM" else "-",
            label=name + (" (hard-coded)" if name == "PWM" else ""),
        )
    ax.set_xlabel("World-model training steps")
    ax.set_ylabel("Normalized reward")
    ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(sep=""))
    ax.legend(frameon=False, fontsize=5)
    ax.set_title("At 50k policy steps")
    fig.tight_layout()
    fig.text(0.0, -0.05, note, fontsize=5, ha="left", va="top", wrap=True)
    return figures.save(fig, stem)


# ---- command -------------------------------------------------------------------------------------
def build(
    name: str,
    folder: Path,
    out: Path,
    reps: int,
    seed: int = 0,
    stats_dir: Path | None = None,
    tables_path: Path | None = None,
    log=print,
) -> pdata.FigureData:
    """Compute, write ``<out>/<name>.{csv,md,pdf,png}`` and report missing series through ``log``."""
    folder = Path(folder)
    if (folder / "pwm-paper").is_dir():
        folder = folder / "pwm-paper"
    out = Path(out)
    missing = pdata.missing_series(folder, name)
    for label, files in missing.items():
        log(f"missing series: {label} ({', '.join(files)} not in {folder})")
    stem = out / name
    stats = None
    if name == "single_task":
        stats, data = single_task(folder, reps, seed)
    elif name == "locomotion_sweep":
        data = locomotion_sweep(folder, reps, seed)
    else:
        data = {
            "multitask_experts": multitask_experts,
            "horizon_ablation": horizon_ablation,
            "batch_size_ablation": batch_size_ablation,
            "world_model_ablation": world_model_ablation,
            "activation_ablation": activation_ablation,
            "hopper_stiffness": hopper_stiffness,
            "policy_extraction": policy_extraction,
        }[name](folder, reps, seed)
    if name in ("single_task", "locomotion_sweep"):
        sources = pdata.ppo_scales(folder) if stats is None else stats["normalization"]
        data.notes.append(
            "PPO normalisers: " + "; ".join(f"{r.task} {r.scale:.2f} ({r.source})" for r in sources.itertuples())
        )
    for note in data.notes:
        log(f"note: {note}")
    note = missing_note(missing) + " " + " ".join(n.rstrip(".") + "." for n in data.notes)
    atomic.write_csv(stem.with_suffix(".csv"), data.series)
    atomic.write_text(
        stem.with_suffix(".md"),
        f"## {name}\n\n{data.table}\n\n**{missing_note(missing)}**\n\n" + "".join(f"- {n}\n" for n in data.notes),
    )
    short = missing_note(missing)
    if name == "single_task":
        draw_single_task(stats, data, out, short)
        if stats_dir is not None:
            for key, frame in stats.items():
                atomic.write_csv(Path(stats_dir) / f"{key}.csv", frame)
        if tables_path is not None:
            tables.write_tables(tables_path, stats["aggregates"], stats["run_scores"])
    elif name == "locomotion_sweep":
        draw_locomotion_sweep(data, stem, short)
    elif name in ("multitask_experts", "horizon_ablation"):
        panels = ["MT30 tasks"] if name == "multitask_experts" else ["MT30", "MT80"]
        names = (
            ["PWM (MT30)", "TD-MPC2 (MT30)", "SAC", "DreamerV3"]
            if name == "multitask_experts"
            else ["PWM H=16", "PWM H=3", "TD-MPC2"]
        )
        draw_interval_figure(data, stem, short, panels, names, profile=name == "multitask_experts")
    elif name == "batch_size_ablation":
        draw_curves_grid(
            data,
            stem,
            ["ant"],
            ["Ant, policy batch size"],
            "Wall-clock time (min)",
            "PPO-normalized return (IQM)",
            short,
        )
    elif name == "world_model_ablation":
        draw_world_model(data, stem, short)
    elif name == "activation_ablation":
        envs = ["hopper", "anymal", "humanoid"]
        draw_curves_grid(
            data,
            stem,
            envs,
            [pdata.ENV_TITLES[e] for e in envs],
            "Environment steps",
            "PPO-normalized return (IQM)",
            short,
        )
    elif name == "hopper_stiffness":
        draw_hopper_stiffness(data, stem, short)
    else:
        draw_policy_extraction(data, stem, short)
    log(f"wrote {stem}.{{pdf,png,csv,md}}")
    return data


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m pwm.analysis.paper_figures", description=__doc__.split("\n\n")[0])
    p.add_argument("figure", choices=pdata.PAPER_FIGURES)
    p.add_argument("--published-dir", required=True, help="the folder holding pwm-paper/ (or pwm-paper itself)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--reps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stats-dir", help="single_task: also write the aggregate CSVs here")
    p.add_argument("--tables", help="single_task: also write the aggregate/per-task Markdown tables here")
    args = p.parse_args(argv)
    build(
        args.figure,
        Path(args.published_dir),
        Path(args.out_dir),
        args.reps,
        args.seed,
        Path(args.stats_dir) if args.stats_dir else None,
        Path(args.tables) if args.tables else None,
        log=lambda m: print(m, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

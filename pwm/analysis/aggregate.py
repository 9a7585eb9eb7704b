"""rliable aggregates: IQM, mean, median and optimality gap with stratified-bootstrap CIs.

rliable's bootstrap draws from NumPy's *global* generator (its ``random_state`` argument does not
make results reproducible), so every call is preceded by ``np.random.seed(seed)``: the same scores
and seed give bit-identical intervals.

Two layouts of the bootstrap (``LAYOUTS``):

- ``canonical`` (default): rliable's (runs x tasks) arrays; the stratified bootstrap resamples runs
  (seeds) within each task. An algorithm with one seed per task (PWM's multitask results) gets a
  zero-width interval, which is the honest answer: there is no run-to-run variation to resample.
- ``paper``: the PWM notebooks' (tasks x runs x 1) arrays, i.e. tasks on rliable's runs axis, so
  the bootstrap resamples *tasks* within each seed index. Point estimates are identical; the
  intervals are the paper's (they measure task-to-task spread, not seed-to-seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics

from pwm import atomic
from pwm.analysis.choices import CI_METHODS, LAYOUTS
from pwm.analysis.curves import CURVE_COLUMNS, aligned_curves, iqm_curves
from pwm.analysis.improvement import IMPROVEMENT_COLUMNS, improvement_estimates
from pwm.analysis.normalize import normalize
from pwm.analysis.score_rules import choose_scores
from pwm.analysis.scores import read_scores, score_matrices
from pwm.analysis.seed_advice import DEFAULT_TARGET, seed_advice, seed_warnings

METRICS = {
    "iqm": metrics.aggregate_iqm,
    "mean": metrics.aggregate_mean,
    "median": metrics.aggregate_median,
    "optimality_gap": metrics.aggregate_optimality_gap,
}
AGGREGATE_COLUMNS = ["group", "algo", "metric", "value", "ci_low", "ci_high"]
PROFILE_COLUMNS = ["group", "algo", "tau", "value", "ci_low", "ci_high"]


def all_metrics(scores: np.ndarray) -> np.ndarray:
    return np.array([fn(scores) for fn in METRICS.values()])


def arrange(matrices: dict[str, np.ndarray], layout: str) -> dict[str, np.ndarray]:
    """(runs, tasks) matrices in the bootstrap layout ``layout`` (see the module docstring)."""
    if layout == "canonical":
        return matrices
    if layout == "paper":
        return {algo: m.T[:, :, None] for algo, m in matrices.items()}
    raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")


def paper_layout_metrics(scores: np.ndarray) -> np.ndarray:
    """``all_metrics`` of a (tasks, runs, 1) resample, read back as (runs, tasks).

    IQM, mean and optimality gap do not depend on the orientation; the median does (rliable's is
    the median of per-task means), so every metric keeps its canonical meaning and only the
    resampling follows the paper.
    """
    return all_metrics(scores[..., 0].T)


def interval_estimates(
    matrices: dict[str, np.ndarray],
    reps: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "percentile",
) -> pd.DataFrame:
    """Point estimates and CIs (percentile by default) of every metric, one row per (algo, metric).

    3-D matrices are the paper layout (see ``arrange``)."""
    layout_3d = {m.ndim for m in matrices.values()} == {3}
    np.random.seed(seed)
    points, intervals = rly.get_interval_estimates(
        matrices,
        paper_layout_metrics if layout_3d else all_metrics,
        reps=reps,
        confidence_interval_size=confidence,
        method=method,
    )
    rows = []
    for algo in matrices:
        for i, metric in enumerate(METRICS):
            rows.append(
                dict(
                    algo=algo,
                    metric=metric,
                    value=points[algo][i],
                    ci_low=intervals[algo][0, i],
                    ci_high=intervals[algo][1, i],
                )
            )
    return pd.DataFrame(rows)


def default_taus(matrices: dict[str, np.ndarray], points: int = 81) -> np.ndarray:
    top = max(1.0, max(float(m.max()) for m in matrices.values()))
    return np.linspace(0.0, top, points)


def parse_taus(text: str) -> np.ndarray:
    """``START:STOP:NUM`` (np.linspace) or a comma list of thresholds."""
    try:
        if ":" in text:
            start, stop, num = text.split(":")
            taus = np.linspace(float(start), float(stop), int(num))
        else:
            taus = np.array([float(t) for t in text.split(",")])
    except ValueError:
        raise ValueError(f"--taus expects START:STOP:NUM or a comma list of numbers, got {text!r}") from None
    if taus.size == 0 or not np.all(np.isfinite(taus)):
        raise ValueError(f"--taus gave no finite thresholds: {text!r}")
    return taus


def performance_profiles(
    matrices: dict[str, np.ndarray],
    taus: np.ndarray,
    reps: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    method: str = "percentile",
) -> pd.DataFrame:
    """Score-distribution profiles: the fraction of runs with a normalised score above tau."""
    np.random.seed(seed)
    profiles, cis = rly.create_performance_profile(
        matrices, taus, reps=reps, confidence_interval_size=confidence, method=method
    )
    rows = []
    for algo in matrices:
        for j, tau in enumerate(taus):
            rows.append(
                dict(
                    algo=algo, tau=float(tau), value=profiles[algo][j], ci_low=cis[algo][0, j], ci_high=cis[algo][1, j]
                )
            )
    return pd.DataFrame(rows)


RUN_SCORE_FILE_COLUMNS = ["group", "algo", "task", "seed", "env_steps", "score"]


@dataclass
class Aggregates:
    """Everything one ``aggregate`` call computes (each also written as a CSV in ``out_dir``)."""

    aggregates: pd.DataFrame
    profiles: pd.DataFrame
    improvement: pd.DataFrame
    curves: pd.DataFrame
    run_scores: pd.DataFrame
    normalization: pd.DataFrame
    seed_advice: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def check_scores(scores: pd.DataFrame) -> None:
    """Non-finite scores (NaN, +inf, -inf) are an error naming the (algo, task, seed, step) rows:
    interpolation, a max or a mean would otherwise hide them or turn every aggregate into inf/NaN."""
    bad = scores[~np.isfinite(scores["score"].to_numpy(dtype=float))]
    if not bad.empty:
        runs = bad[["algo", "task", "seed"]].drop_duplicates()
        kinds = sorted({"NaN" if np.isnan(v) else ("+inf" if v > 0 else "-inf") for v in bad["score"]})
        rows = bad[["algo", "task", "seed", "step", "score"]].head(20).to_string(index=False)
        raise ValueError(
            f"{'/'.join(kinds)} scores in {len(bad)} rows of {len(runs)} runs: every score must be finite "
            f"(NaN: e.g. a reward-normalised task imported with only success values); (algo, task, seed, "
            f"step):\n{rows}"
        )


def aggregate(
    score_files: list[str | Path],
    out_dir: str | Path,
    group: str = "all",
    reps: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    score_rule: str = "final",
    normalization: str = "tdmpc2",
    scales: dict[str, float] | None = None,
    layout: str = "canonical",
    method: str = "percentile",
    taus: np.ndarray | None = None,
    thin: int = 1,
    curves: bool = True,
    improvement: bool = True,
    seed_target: float = DEFAULT_TARGET,
) -> Aggregates:
    """scores.csv files -> aggregates, profiles, improvement, curves, run scores and normalisation CSVs.

    Steps: normalise every evaluation (``normalize``), pick one score per run (``score_rules``),
    build one (runs x tasks) matrix per algorithm (errors on missing tasks/seeds or NaN), then
    bootstrap in ``layout``. Curves and probability of improvement always use the canonical layout.
    """
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if method not in CI_METHODS:
        raise ValueError(f"unknown CI method {method!r}; known: {', '.join(CI_METHODS)}")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    scores, norm_table = normalize(read_scores(score_files), normalization, scales, thin)
    check_scores(scores)
    run_scores, notes = choose_scores(scores, score_rule, thin)
    matrices, _ = score_matrices(run_scores)
    bootstrap = arrange(matrices, layout)
    estimates = interval_estimates(bootstrap, reps, seed, confidence, method)
    if layout == "paper":
        # The paper's resampling draws tasks independently per seed index, so a resample has no
        # per-task means and the median's interval is meaningless: reported as missing.
        estimates.loc[estimates.metric == "median", ["ci_low", "ci_high"]] = np.nan
        notes.append("layout paper: the median has no interval (tasks are resampled per seed index)")
    curve_table = pd.DataFrame(columns=CURVE_COLUMNS)
    if curves:
        curve_table, curve_notes = iqm_curves(
            aligned_curves(scores, "score", thin)[0], group, reps, seed, confidence, method
        )
        notes += curve_notes
    result = Aggregates(
        aggregates=estimates.assign(group=group)[AGGREGATE_COLUMNS],
        profiles=performance_profiles(
            bootstrap, default_taus(matrices) if taus is None else np.asarray(taus), reps, seed, confidence, method
        ).assign(group=group)[PROFILE_COLUMNS],
        improvement=(
            improvement_estimates(matrices, group, reps, seed, confidence, method)
            if improvement
            else pd.DataFrame(columns=IMPROVEMENT_COLUMNS)
        ),
        curves=curve_table,
        run_scores=run_scores.assign(group=group)[RUN_SCORE_FILE_COLUMNS],
        normalization=norm_table,
        seed_advice=seed_advice(estimates.assign(group=group), run_scores, seed_target),
        notes=notes + seed_warnings(run_scores),
    )
    out_dir = Path(out_dir)
    for name in ("aggregates", "profiles", "improvement", "curves", "run_scores", "normalization", "seed_advice"):
        atomic.write_csv(out_dir / f"{name}.csv", getattr(result, name))
    return result

"""rliable aggregates: IQM, mean, median and optimality gap with stratified-bootstrap CIs.

rliable's bootstrap draws from NumPy's *global* generator (its ``random_state`` argument does not
make results reproducible), so every call is preceded by ``np.random.seed(seed)``: the same scores
and seed give bit-identical intervals.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rliable import library as rly
from rliable import metrics

from pwm import atomic
from pwm.analysis.scores import add_normalized, final_scores, read_scores, score_matrices

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


def interval_estimates(matrices: dict[str, np.ndarray], reps: int = 2000, seed: int = 0,
                       confidence: float = 0.95) -> pd.DataFrame:
    """Point estimates and percentile CIs of every metric, one row per (algo, metric)."""
    np.random.seed(seed)
    points, intervals = rly.get_interval_estimates(
        matrices, all_metrics, reps=reps, confidence_interval_size=confidence)
    rows = []
    for algo in matrices:
        for i, metric in enumerate(METRICS):
            rows.append(dict(algo=algo, metric=metric, value=points[algo][i],
                             ci_low=intervals[algo][0, i], ci_high=intervals[algo][1, i]))
    return pd.DataFrame(rows)


def default_taus(matrices: dict[str, np.ndarray], points: int = 81) -> np.ndarray:
    top = max(1.0, max(float(m.max()) for m in matrices.values()))
    return np.linspace(0.0, top, points)


def performance_profiles(matrices: dict[str, np.ndarray], taus: np.ndarray, reps: int = 2000,
                         seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Score-distribution profiles: the fraction of runs with a normalised score above tau."""
    np.random.seed(seed)
    profiles, cis = rly.create_performance_profile(
        matrices, taus, reps=reps, confidence_interval_size=confidence)
    rows = []
    for algo in matrices:
        for j, tau in enumerate(taus):
            rows.append(dict(algo=algo, tau=float(tau), value=profiles[algo][j],
                             ci_low=cis[algo][0, j], ci_high=cis[algo][1, j]))
    return pd.DataFrame(rows)


def aggregate(score_files: list[str | Path], out_dir: str | Path, group: str = "all",
              reps: int = 2000, seed: int = 0, confidence: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """scores.csv -> aggregates.csv and profiles.csv in ``out_dir`` (final-evaluation scores)."""
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    final = final_scores(add_normalized(read_scores(score_files)))
    matrices, _ = score_matrices(final)
    aggregates = interval_estimates(matrices, reps, seed, confidence).assign(group=group)
    profiles = performance_profiles(matrices, default_taus(matrices), reps, seed, confidence).assign(group=group)
    out_dir = Path(out_dir)
    atomic.write_csv(out_dir / "aggregates.csv", aggregates[AGGREGATE_COLUMNS])
    atomic.write_csv(out_dir / "profiles.csv", profiles[PROFILE_COLUMNS])
    return aggregates[AGGREGATE_COLUMNS], profiles[PROFILE_COLUMNS]

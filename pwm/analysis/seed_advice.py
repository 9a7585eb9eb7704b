"""How many seeds an aggregate needs: its CI half-width now and the seed count that would bring
it under a target width.

A bootstrap CI of a mean-like statistic over runs narrows as 1/sqrt(runs), so an interval of
half-width ``h`` from ``n`` seeds needs about ``n * (h / target)**2`` seeds to reach ``target``
(rounded up; never fewer than ``n``). The estimate assumes the seeds' spread stays what it is;
it is advice for planning, not a guarantee. Written as ``seed_advice.csv`` beside the aggregates.
"""

from __future__ import annotations

import math

import pandas as pd

SEED_ADVICE_COLUMNS = ["group", "algo", "metric", "seeds", "half_width", "target", "seeds_needed"]
MIN_SEEDS = 5  # fewer seeds than this gives intervals too wide to rank algorithms (Agarwal et al. 2021)
DEFAULT_TARGET = 0.05  # normalised score units: ±0.05 IQM


def seeds_needed(seeds: int, half_width: float, target: float) -> int:
    """The seed count whose interval would be ``target`` wide (half-width), from ``seeds`` seeds'."""
    if not target > 0:
        raise ValueError(f"the target half-width must be > 0, got {target}")
    if half_width <= target:
        return seeds
    return max(seeds, math.ceil(seeds * (half_width / target) ** 2 - 1e-9))


def seed_counts(run_scores: pd.DataFrame) -> dict[str, int]:
    """Distinct seeds per algorithm."""
    return {algo: int(rows["seed"].nunique()) for algo, rows in run_scores.groupby("algo", sort=True)}


def seed_advice(aggregates: pd.DataFrame, run_scores: pd.DataFrame, target: float = DEFAULT_TARGET) -> pd.DataFrame:
    counts = seed_counts(run_scores)
    rows = []
    for r in aggregates.itertuples():
        if r.algo not in counts or pd.isna(r.ci_low) or pd.isna(r.ci_high):
            continue
        half = (r.ci_high - r.ci_low) / 2
        n = counts[r.algo]
        rows.append([r.group, r.algo, r.metric, n, half, target, seeds_needed(n, half, target)])
    return pd.DataFrame(rows, columns=SEED_ADVICE_COLUMNS)


def seed_warnings(run_scores: pd.DataFrame, minimum: int = MIN_SEEDS) -> list[str]:
    counts = seed_counts(run_scores)
    warnings = [
        f"{algo} has {n} seed{'s' if n != 1 else ''} (fewer than {minimum}): its intervals are too wide to rank it"
        for algo, n in counts.items()
        if n < minimum
    ]
    if len(set(counts.values())) > 1:
        warnings.append(
            "seed counts differ between algorithms ("
            + ", ".join(f"{a}: {n}" for a, n in counts.items())
            + "): their intervals are not equally wide"
        )
    return warnings

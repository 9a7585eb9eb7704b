"""Learning curves on one time grid per (algo, task), and their per-time-point IQM with CIs.

Seeds of published wandb exports log at different steps, so a per-time-point statistic first needs
every seed on one grid: the union of the seeds' ``env_steps``, each seed linearly interpolated
over the rows of that union grid (exactly the PWM notebooks' ``DataFrame.interpolate()``, which
reproduces their per-task numbers; for evenly logged runs, e.g. our own, nothing is interpolated),
points before the last seed's first log dropped, and a seed that stopped early held at its last value (reported, not silent). ``thin``
keeps every thin-th grid point, as the notebooks do (every 10th row) before finding the IQM peak.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rliable import library as rly
from scipy.stats import trim_mean

CURVE_COLUMNS = ["group", "algo", "task", "env_steps", "value", "ci_low", "ci_high"]
ALL_TASKS = "all"


def aligned_curve(runs: pd.DataFrame, column: str = "score", thin: int = 1) -> tuple[pd.DataFrame, list[int]]:
    """One (algo, task)'s runs as a (grid point x seed) table; also the seeds held at their last value."""
    if thin < 1:
        raise ValueError(f"thin must be >= 1, got {thin}")
    table = runs.pivot_table(index="env_steps", columns="seed", values=column, aggfunc="first", dropna=False)
    table = table.sort_index()
    last_logged = {seed: table[seed].last_valid_index() for seed in table.columns}
    held = [int(seed) for seed, last in last_logged.items() if last < table.index[-1]]
    table = table.interpolate(method="linear", limit_direction="forward").dropna()
    if table.empty:
        raise ValueError(f"{runs.algo.iloc[0]!r} on {runs.task.iloc[0]!r}: the seeds' curves do not overlap")
    return table.iloc[::thin], held


def aligned_curves(scores: pd.DataFrame, column: str = "score", thin: int = 1):
    """{(algo, task): aligned table} and a list of messages about seeds held at their last value."""
    curves, notes = {}, []
    for (algo, task), runs in scores.groupby(["algo", "task"], sort=True):
        curves[algo, task], held = aligned_curve(runs, column, thin)
        if held:
            notes.append(f"{algo} on {task}: seeds {held} end before the last step; held at their last value")
    return curves, notes


def iqm_over_seeds(table: pd.DataFrame) -> np.ndarray:
    """The point IQM at every grid point (25% trimmed mean across seeds)."""
    return trim_mean(table.to_numpy(), 0.25, axis=1)


def iqm_per_frame(scores: np.ndarray) -> np.ndarray:
    """rliable's ``aggregate_iqm`` at every frame of a (runs, tasks, frames) array, vectorised.

    Identical to ``[metrics.aggregate_iqm(scores[..., f]) for f in frames]``: trim_mean over the
    flattened runs x tasks of each frame.
    """
    return trim_mean(scores.reshape(-1, scores.shape[-1]), 0.25, axis=0)


def iqm_per_task_frame(scores: np.ndarray) -> np.ndarray:
    """The IQM across runs of every (task, frame) of a (runs, tasks, frames) array, flattened."""
    return trim_mean(scores, 0.25, axis=0).ravel()


def iqm_curves(
    curves: dict, group: str, reps: int, seed: int, confidence: float, method: str = "percentile"
) -> tuple[pd.DataFrame, list[str]]:
    """Per-time-point IQM with stratified-bootstrap CIs, per task and (on a shared grid) over tasks.

    Every bootstrap is rliable's on (seeds, tasks, frames) arrays in the canonical layout, after
    ``np.random.seed(seed)``. When all of an algorithm's tasks share one grid and one seed set, one
    bootstrap gives every task's curve (the stratified bootstrap resamples seeds within each task,
    so a task's curve depends only on its own runs) and the over-tasks curve (task ``all``);
    otherwise each task is bootstrapped alone and ``all`` is left out. Runs with one evaluation
    (final scores only) have no curve. Returns the curves and notes on what was left out.
    """
    rows, notes = [], []

    def estimate(algo, tasks, array, grid, func):
        np.random.seed(seed)
        points, cis = rly.get_interval_estimates(
            {algo: array}, func, reps=reps, confidence_interval_size=confidence, method=method
        )
        n = len(grid)
        for i, task in enumerate(tasks):
            part = slice(i * n, (i + 1) * n)
            rows.append(
                pd.DataFrame(
                    dict(
                        group=group,
                        algo=algo,
                        task=task,
                        env_steps=np.asarray(grid),
                        value=points[algo][part],
                        ci_low=cis[algo][0][part],
                        ci_high=cis[algo][1][part],
                    )
                )
            )

    for algo in sorted({a for a, _ in curves}):
        tasks = sorted(t for a, t in curves if a == algo)
        tables = [curves[algo, t] for t in tasks]
        if all(len(t) < 2 for t in tables):
            notes.append(f"{algo}: one evaluation per run, no learning curve")
            continue
        first = tables[0]
        shared = all(t.index.equals(first.index) and list(t.columns) == list(first.columns) for t in tables)
        if shared:
            array = np.stack([t.to_numpy().T for t in tables], axis=1)  # (seeds, tasks, frames)
            estimate(algo, tasks, array, first.index, iqm_per_task_frame)
            if len(tasks) > 1:
                estimate(algo, [ALL_TASKS], array, first.index, iqm_per_frame)
        else:
            notes.append(f"{algo}: tasks have different evaluation grids or seeds; no over-tasks curve")
            for task, table in zip(tasks, tables):
                estimate(algo, [task], table.to_numpy().T[:, None, :], table.index, iqm_per_task_frame)
    frame = pd.concat(rows, ignore_index=True)[CURVE_COLUMNS] if rows else pd.DataFrame(columns=CURVE_COLUMNS)
    return frame, notes

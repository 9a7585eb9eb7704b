"""Our runs against published per-seed curves, with a stated test instead of an overlay.

For every algorithm ``X`` of an experiment that also has ``X (published)`` scores (imported
TD-MPC2 result files or the PWM paper's files), on every task both have:

1. both sets of seeds are put on one step grid: our evaluation steps inside the range both cover,
   each seed's normalised score interpolated linearly at those steps (published runs log at other
   steps than ours);
2. at each grid step, our IQM over seeds and the published IQM (25% trimmed means), their
   difference, and its percentile bootstrap CI (both sets of seeds resampled independently,
   ``reps`` times);
3. a verdict against ``margin`` (normalised score): ``below`` if the whole CI of the difference is
   under ``-margin``, ``above`` if it is over ``+margin``, ``within`` if it lies inside
   ``[-margin, +margin]`` (equivalence), else ``inconclusive`` (too few seeds to tell).

``final`` marks the last common step, the row a reader looks at first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import trim_mean

from pwm import atomic
from pwm.analysis.scores import add_normalized

PUBLISHED_SUFFIX = " (published)"
COMPARISON_COLUMNS = [
    "algo",
    "task",
    "env_steps",
    "final",
    "seeds",
    "published_seeds",
    "iqm",
    "published_iqm",
    "difference",
    "ci_low",
    "ci_high",
    "margin",
    "verdict",
]


def on_grid(runs: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """(seeds, grid points): each seed's normalised score interpolated at the grid's steps."""
    rows = []
    for _, seed in runs.groupby("seed", sort=True):
        seed = seed.sort_values("env_steps")
        rows.append(np.interp(grid, seed["env_steps"].to_numpy(float), seed["score"].to_numpy(float)))
    return np.asarray(rows)


def verdict(ci_low: float, ci_high: float, margin: float) -> str:
    if ci_high < -margin:
        return "below"
    if ci_low > margin:
        return "above"
    if -margin <= ci_low and ci_high <= margin:
        return "within"
    return "inconclusive"


def bootstrap_difference(ours: np.ndarray, published: np.ndarray, reps: int, seed: int, confidence: float):
    """Point IQM difference and percentile CI at every grid column of two (seeds, grid) arrays."""
    rng = np.random.default_rng(seed)
    a = ours[rng.integers(0, len(ours), size=(reps, len(ours)))]  # (reps, seeds, grid)
    b = published[rng.integers(0, len(published), size=(reps, len(published)))]
    diffs = trim_mean(a, 0.25, axis=1) - trim_mean(b, 0.25, axis=1)  # (reps, grid)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha], axis=0)
    return trim_mean(ours, 0.25, axis=0) - trim_mean(published, 0.25, axis=0), low, high


def compare_with_published(
    scores: pd.DataFrame, margin: float = 0.1, reps: int = 2000, seed: int = 0, confidence: float = 0.95
) -> pd.DataFrame:
    """The comparison table (``COMPARISON_COLUMNS``) of every (algorithm, task) with published curves."""
    if not margin > 0:
        raise ValueError(f"the comparison margin must be > 0, got {margin}")
    scores = add_normalized(scores)
    rows = []
    for algo in sorted(a for a in scores.algo.unique() if not a.endswith(PUBLISHED_SUFFIX)):
        published_algo = algo + PUBLISHED_SUFFIX
        for task in sorted(scores[scores.algo == algo].task.unique()):
            ours = scores[(scores.algo == algo) & (scores.task == task)]
            theirs = scores[(scores.algo == published_algo) & (scores.task == task)]
            if theirs.empty:
                continue
            start = max(ours.groupby("seed").env_steps.min().max(), theirs.groupby("seed").env_steps.min().max())
            stop = min(ours.env_steps.max(), theirs.env_steps.max())
            grid = np.unique(ours.env_steps[(ours.env_steps >= start) & (ours.env_steps <= stop)].to_numpy())
            if grid.size == 0:
                continue
            a, b = on_grid(ours, grid), on_grid(theirs, grid)
            diff, low, high = bootstrap_difference(a, b, reps, seed, confidence)
            for i, step in enumerate(grid):
                rows.append(
                    [
                        algo,
                        task,
                        int(step),
                        i == len(grid) - 1,
                        len(a),
                        len(b),
                        trim_mean(a[:, i], 0.25),
                        trim_mean(b[:, i], 0.25),
                        diff[i],
                        low[i],
                        high[i],
                        margin,
                        verdict(low[i], high[i], margin),
                    ]
                )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def plot_comparison(scores: pd.DataFrame, comparison: pd.DataFrame, stem) -> list:
    """Our seeds (thin lines) over the published seeds' band (min to max, and their IQM), one panel
    per compared (algorithm, task), titled with the final verdict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pwm.analysis.figures import save

    scores = add_normalized(scores)
    pairs = comparison[comparison.final][["algo", "task", "verdict", "difference"]].values.tolist()
    if not pairs:
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no algorithm of this experiment has published curves", ha="center", va="center")
        return save(fig, stem)
    columns = min(3, len(pairs))
    rows = -(-len(pairs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    for ax, (algo, task, final_verdict, difference) in zip(axes.flat, pairs):
        theirs = scores[(scores.algo == algo + PUBLISHED_SUFFIX) & (scores.task == task)]
        grid = np.unique(theirs.env_steps.to_numpy())
        band = on_grid(theirs, grid)
        ax.fill_between(grid, band.min(0), band.max(0), color="0.8", label="published seeds (range)")
        ax.plot(grid, trim_mean(band, 0.25, axis=0), color="0.4", label="published IQM")
        for i, (_, run) in enumerate(scores[(scores.algo == algo) & (scores.task == task)].groupby("seed")):
            run = run.sort_values("env_steps")
            ax.plot(run.env_steps, run.score, color="C0", lw=1, alpha=0.8, label="our seeds" if i == 0 else None)
        ax.set_title(f"{algo} on {task}: {final_verdict} ({difference:+.2f})", fontsize=9)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("normalised score")
    for ax in axes.flat[len(pairs) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return save(fig, stem)


def write_comparison(score_files: list, out, figure_stem, margin: float, reps: int, seed: int) -> pd.DataFrame:
    from pwm.analysis.scores import read_scores

    scores = read_scores(score_files)
    comparison = compare_with_published(scores, margin, reps, seed)
    atomic.write_csv(out, comparison)
    plot_comparison(scores, comparison, figure_stem)
    return comparison

"""Paper-ready figures: aggregate interval estimates, performance profiles, learning curves.

Each algorithm keeps one colour in every figure (a fixed palette indexed by the sorted list of
all algorithm names), and every figure is written as PDF (for the paper) and PNG (for the report).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from pwm import atomic  # noqa: E402
from pwm.analysis.scores import add_normalized  # noqa: E402

METRIC_TITLES = {"median": "Median", "iqm": "IQM", "mean": "Mean", "optimality_gap": "Optimality Gap"}


def algorithm_colors(algos) -> dict[str, tuple]:
    algos = sorted(set(algos))
    return dict(zip(algos, sns.color_palette("colorblind", max(len(algos), 1))))


def save(fig, stem: str | Path) -> list[Path]:
    paths = []
    for ext in ("pdf", "png"):
        path = Path(f"{stem}.{ext}")
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=200, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def plot_aggregates(aggregates: pd.DataFrame, profiles: pd.DataFrame, stem: str | Path) -> list[Path]:
    """One row: an interval-estimate panel per metric, then the performance profile."""
    algos = sorted(aggregates["algo"].unique())
    colors = algorithm_colors(algos)
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(1, len(METRIC_TITLES) + 1, figsize=(13, 0.45 * len(algos) + 1.8),
                             gridspec_kw={"width_ratios": [1] * len(METRIC_TITLES) + [1.6]})
    for ax, (metric, title) in zip(axes, METRIC_TITLES.items()):
        rows = aggregates[aggregates["metric"] == metric].set_index("algo")
        for y, algo in enumerate(algos):
            r = rows.loc[algo]
            ax.barh(y, r["ci_high"] - r["ci_low"], left=r["ci_low"], height=0.6,
                    color=colors[algo], alpha=0.75)
            ax.plot([r["value"]] * 2, [y - 0.3, y + 0.3], color="black", lw=1.2)
        ax.set_yticks(range(len(algos)), algos if ax is axes[0] else [""] * len(algos))
        ax.set_title(title)
        ax.set_xlabel("Normalized score")
        ax.invert_yaxis()
    ax = axes[-1]
    for algo in algos:
        p = profiles[profiles["algo"] == algo]
        ax.plot(p["tau"], p["value"], color=colors[algo], label=algo)
        ax.fill_between(p["tau"], p["ci_low"], p["ci_high"], color=colors[algo], alpha=0.2)
    ax.set_xlabel(r"Normalized score $\tau$")
    ax.set_ylabel(r"Fraction of runs with score $> \tau$")
    ax.set_title("Performance profile")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return save(fig, stem)


def plot_curves(scores: pd.DataFrame, stem: str | Path, seed: int = 0) -> list[Path]:
    """Per-task normalised score against environment steps: mean over seeds, 95% bootstrap band."""
    scores = add_normalized(scores)
    tasks = sorted(scores["task"].unique())
    colors = algorithm_colors(scores["algo"].unique())
    sns.set_theme(style="whitegrid", context="paper")
    cols = min(len(tasks), 4)
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        data = scores[scores["task"] == task]
        sns.lineplot(data=data, x="env_steps", y="score", hue="algo", palette=colors, ax=ax,
                     errorbar=("ci", 95), seed=seed, legend=ax is axes.flat[0])
        ax.set_title(task)
        ax.set_xlabel("Environment steps")
        ax.set_ylabel("Normalized score")
    for ax in list(axes.flat)[len(tasks):]:
        ax.set_visible(False)
    fig.tight_layout()
    return save(fig, stem)

"""Paper-ready figures: interval estimates, performance profiles, learning curves, improvement.

Every figure takes the CSVs of ``aggregate`` (never recomputes statistics), uses ``style`` for one
colour per algorithm across all figures and paper-width sizes, and is written as PDF (for the
paper) and PNG (for the report).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.patches as mpatches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from pwm import atomic  # noqa: E402
from pwm.analysis import style  # noqa: E402
from pwm.analysis.curves import ALL_TASKS  # noqa: E402
from pwm.analysis.scores import add_normalized  # noqa: E402

METRIC_TITLES = {"median": "Median", "iqm": "IQM", "mean": "Mean", "optimality_gap": "Optimality Gap"}


def algorithm_colors(algos) -> dict[str, tuple]:
    return {algo: style.color(algo) for algo in sorted(set(algos))}


def save(fig, stem: str | Path) -> list[Path]:
    paths = []
    for ext in ("pdf", "png"):
        path = Path(f"{stem}.{ext}")
        with atomic.atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=300, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def legend_handles(algos) -> list:
    return [
        mpatches.Patch(facecolor=style.color(a), hatch=style.hatch(a), edgecolor="white", label=style.label(a))
        for a in algos
    ]


def interval_bars(ax, rows: pd.DataFrame, algos: list[str], y0: float = 0.0, mean_rows: pd.DataFrame | None = None):
    """Horizontal CI bars with the point estimate (solid tick); optional dashed tick for the mean."""
    rows = rows.set_index("algo")
    for i, algo in enumerate(algos):
        if algo not in rows.index:
            continue
        r, y = rows.loc[algo], y0 + i
        low, high = (r["ci_low"], r["ci_high"]) if pd.notna(r["ci_low"]) else (r["value"], r["value"])
        ax.barh(
            y,
            max(high - low, 1e-3),
            left=low,
            height=0.6,
            color=style.color(algo),
            alpha=0.85,
            hatch=style.hatch(algo),
            edgecolor="white",
            linewidth=0,
        )
        ax.vlines(r["value"], y - 0.3, y + 0.3, color="black", lw=1.0)
        if mean_rows is not None and algo in set(mean_rows.algo):
            mean = mean_rows.set_index("algo").loc[algo, "value"]
            ax.vlines(mean, y - 0.3, y + 0.3, color="black", lw=1.0, linestyles="dashed", alpha=0.6)
    ax.use_sticky_edges = False
    ax.margins(x=0.08)


def profile_lines(ax, profiles: pd.DataFrame, algos: list[str], dashes: str | None = None):
    for algo in algos:
        p = profiles[profiles.algo == algo].sort_values("tau")
        if p.empty:
            continue
        ax.plot(p.tau, p.value, color=style.color(algo), ls=dashes or style.linestyle(algo), label=style.label(algo))
        ax.fill_between(p.tau, p.ci_low, p.ci_high, color=style.color(algo), alpha=0.2, lw=0)
    ax.set_ylabel(r"Fraction of runs with score $> \tau$")
    ax.set_ylim(-0.02, 1.02)


def plot_aggregates(aggregates: pd.DataFrame, profiles: pd.DataFrame, stem: str | Path) -> list[Path]:
    """One row: an interval-estimate panel per metric, then the performance profile."""
    algos = sorted(aggregates["algo"].unique())
    style.paper_style()
    fig, axes = plt.subplots(
        1,
        len(METRIC_TITLES) + 1,
        figsize=(style.TEXT_WIDTH_IN, 0.3 * len(algos) + 1.3),
        gridspec_kw={"width_ratios": [1] * len(METRIC_TITLES) + [1.6]},
    )
    for ax, (metric, title) in zip(axes, METRIC_TITLES.items()):
        interval_bars(ax, aggregates[aggregates["metric"] == metric], algos)
        ax.set_yticks(range(len(algos)), [style.label(a) for a in algos] if ax is axes[0] else [""] * len(algos))
        ax.set_title(title)
        ax.set_xlabel("Normalized score")
        ax.invert_yaxis()
    profile_lines(axes[-1], profiles, algos)
    axes[-1].set_xlabel(r"Normalized score $\tau$")
    axes[-1].set_title("Performance profile")
    axes[-1].legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return save(fig, stem)


def curve_panel(ax, curves: pd.DataFrame, algos: list[str]):
    for algo in algos:
        c = curves[curves.algo == algo].sort_values("env_steps")
        if c.empty:
            continue
        ax.plot(c.env_steps, c.value, color=style.color(algo), ls=style.linestyle(algo), label=style.label(algo))
        ax.fill_between(c.env_steps, c.ci_low, c.ci_high, color=style.color(algo), alpha=0.2, lw=0)
    ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(sep=""))


def plot_iqm_curves(curves: pd.DataFrame, stem: str | Path, ncols: int = 4) -> list[Path]:
    """Per-task IQM curves with 95% CI bands (and the over-tasks curve when there is one)."""
    algos = sorted(curves.algo.unique())
    tasks = sorted(t for t in curves.task.unique() if t != ALL_TASKS) + (
        [ALL_TASKS] if ALL_TASKS in set(curves.task) else []
    )
    style.paper_style()
    cols = min(len(tasks), ncols)
    rows = -(-len(tasks) // cols)
    width = style.TEXT_WIDTH_IN / ncols * cols
    fig, axes = plt.subplots(rows, cols, figsize=(width, 1.6 * rows + 0.4), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        curve_panel(ax, curves[curves.task == task], algos)
        ax.set_title("all tasks" if task == ALL_TASKS else task)
        ax.set_xlabel("Environment steps")
        ax.set_ylabel("IQM normalized score")
    for ax in list(axes.flat)[len(tasks) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.legend(
        handles=legend_handles(algos), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(algos), frameon=False
    )
    return save(fig, stem)


def plot_curves(scores: pd.DataFrame, stem: str | Path, seed: int = 0) -> list[Path]:
    """Per-task normalised score against environment steps: mean over seeds, 95% bootstrap band."""
    scores = add_normalized(scores)
    tasks = sorted(scores["task"].unique())
    colors = algorithm_colors(scores["algo"].unique())
    style.paper_style()
    cols = min(len(tasks), 4)
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.7 * cols, 1.5 * rows + 0.3), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        data = scores[scores["task"] == task]
        sns.lineplot(
            data=data,
            x="env_steps",
            y="score",
            hue="algo",
            palette=colors,
            ax=ax,
            errorbar=("ci", 95),
            seed=seed,
            legend=ax is axes.flat[0],
        )
        ax.set_title(task)
        ax.set_xlabel("Environment steps")
        ax.set_ylabel("Normalized score")
    for ax in list(axes.flat)[len(tasks) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return save(fig, stem)


def plot_single_task(
    curves: pd.DataFrame,
    aggregates: pd.DataFrame,
    profiles: pd.DataFrame,
    stem: str | Path,
    xlabel: str = "Normalized score",
    note: str | None = None,
) -> list[Path]:
    """The PWM single-task figure: per-task IQM curves on top; IQM (mean as a dashed tick, as in the
    paper) and mean bars and the profile below; ``note`` (e.g. the missing series) under the legend."""
    algos = sorted(aggregates.algo.unique(), key=lambda a: (a != "pwm", a))[::-1]
    tasks = sorted(t for t in curves.task.unique() if t != ALL_TASKS)
    style.paper_style()
    n = max(len(tasks), 3)
    fig = plt.figure(figsize=(style.TEXT_WIDTH_IN, 3.6))
    grid = fig.add_gridspec(2, n * 2, height_ratios=[1, 1.05], hspace=0.65, wspace=2.6)
    for i, task in enumerate(tasks):
        ax = fig.add_subplot(grid[0, 2 * i : 2 * i + 2])
        curve_panel(ax, curves[curves.task == task], algos)
        pwm = curves[(curves.task == task) & (curves.algo == "pwm")]
        if not pwm.empty and curves[curves.task == task].env_steps.max() > 2 * pwm.env_steps.max():
            ax.set_xlim(0, pwm.env_steps.max())  # as the paper: PWM's range (PPO/SAC run 10x longer)
        ax.set_title(task)
        ax.set_xlabel("Steps")
        if i == 0:
            ax.set_ylabel("Episode return (IQM)" if curves.value.abs().max() > 5 else "Score (IQM)")
    thirds = [slice(0, n * 2 // 3), slice(n * 2 // 3, 2 * (n * 2 // 3)), slice(2 * (n * 2 // 3), n * 2)]
    for part, metric in zip(thirds[:2], ["iqm", "mean"]):
        ax = fig.add_subplot(grid[1, part])
        interval_bars(
            ax,
            aggregates[aggregates.metric == metric],
            algos,
            mean_rows=aggregates[aggregates.metric == "mean"] if metric == "iqm" else None,
        )
        ax.set_yticks([])
        ax.set_title(METRIC_TITLES[metric])
        ax.set_xlabel(xlabel)
    ax = fig.add_subplot(grid[1, thirds[2]])
    profile_lines(ax, profiles, algos)
    ax.set_xlabel(xlabel + r" ($\tau$)")
    ax.set_ylabel(r"Fraction with score $> \tau$")
    ax.set_title("Performance profile")
    fig.legend(
        handles=legend_handles(algos[::-1]),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.02),
        ncol=len(algos),
        frameon=False,
    )
    if note:
        fig.text(0.0, -0.04, note, fontsize=5, ha="left", va="top", wrap=True)
    return save(fig, stem)


def plot_multitask(aggregates: pd.DataFrame, profiles: pd.DataFrame, stem: str | Path) -> list[Path]:
    """MT30/MT80: one row per group with IQM and mean interval bars (mean dashed on the IQM panel,
    as in the paper) and the performance profile."""
    groups = list(dict.fromkeys(aggregates.group))
    algos = sorted(aggregates.algo.unique(), key=lambda a: (a != "pwm", a))[::-1]
    style.paper_style()
    fig, axes = plt.subplots(
        len(groups),
        3,
        figsize=(style.TEXT_WIDTH_IN, 0.25 * len(algos) * len(groups) + 1.2 * len(groups)),
        squeeze=False,
        gridspec_kw={"width_ratios": [1, 1, 1.3]},
    )
    for row, group in zip(axes, groups):
        agg = aggregates[aggregates.group == group]
        for ax, metric in zip(row[:2], ["iqm", "mean"]):
            interval_bars(
                ax, agg[agg.metric == metric], algos, mean_rows=agg[agg.metric == "mean"] if metric == "iqm" else None
            )
            ax.set_yticks(range(len(algos)), [style.label(a) for a in algos] if ax is row[0] else [""] * len(algos))
            ax.set_title(f"{group.upper()} {METRIC_TITLES[metric]}")
            ax.set_xlabel("Normalized score")
            ax.set_ylim(-0.6, len(algos) - 0.4)
        profile_lines(row[2], profiles[profiles.group == group], algos)
        row[2].set_title(f"{group.upper()} performance profile")
        row[2].set_xlabel(r"Normalized score ($\tau$)")
        row[2].set_ylabel("Fraction of runs\n" + r"with score $> \tau$")
    fig.tight_layout()
    fig.legend(
        handles=legend_handles(algos[::-1]),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=len(algos),
        frameon=False,
    )
    return save(fig, stem)


def plot_task_scores(run_scores: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Per-task bars of the mean score over seeds (error bar: min to max over seeds), per group."""
    groups = list(dict.fromkeys(run_scores.group))
    algos = sorted(run_scores.algo.unique(), key=lambda a: (a != "pwm", a))
    style.paper_style()
    sizes = [run_scores[run_scores.group == g].task.nunique() for g in groups]
    fig, axes = plt.subplots(
        len(groups),
        1,
        figsize=(style.TEXT_WIDTH_IN, 1.9 * len(groups) + 0.4),
        squeeze=False,
        gridspec_kw={"height_ratios": [1] * len(groups)},
    )
    width = 0.8 / len(algos)
    for ax, group, size in zip(axes[:, 0], groups, sizes):
        data = run_scores[run_scores.group == group]
        stats = data.groupby(["task", "algo"]).score.agg(["mean", "min", "max"])
        tasks = sorted(data.task.unique())
        x = np.arange(len(tasks))
        for j, algo in enumerate(algos):
            s = stats.xs(algo, level="algo").reindex(tasks) if algo in set(data.algo) else None
            if s is None:
                continue
            ax.bar(
                x + (j - (len(algos) - 1) / 2) * width,
                s["mean"],
                width,
                color=style.color(algo),
                hatch=style.hatch(algo),
                edgecolor="white",
                linewidth=0,
                label=style.label(algo),
            )
            spread = np.vstack([s["mean"] - s["min"], s["max"] - s["mean"]])
            if np.nanmax(spread) > 0:
                ax.errorbar(
                    x + (j - (len(algos) - 1) / 2) * width,
                    s["mean"],
                    yerr=spread,
                    fmt="none",
                    ecolor="black",
                    elinewidth=0.4,
                    capsize=0,
                )
        ax.set_xticks(x, tasks, rotation=90, fontsize=4.5 if size > 40 else 5.5)
        ax.set_xlim(-0.6, len(tasks) - 0.4)
        ax.set_ylabel("Normalized score")
        ax.set_title(f"{group.upper()}: per-task score (mean over seeds; bar: min-max)")
    fig.tight_layout()
    fig.legend(
        handles=legend_handles(algos), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(algos), frameon=False
    )
    return save(fig, stem)


def plot_improvement(improvement: pd.DataFrame, stem: str | Path, focus: str | None = None) -> list[Path]:
    """P(X > Y) with 95% CIs, one row per pair (X's colour), one panel per group.

    With fewer than two algorithms there is no pair; the figure then says so (a workflow output
    must exist either way)."""
    if improvement.empty:
        style.paper_style()
        fig, ax = plt.subplots(figsize=(style.COLUMN_WIDTH_IN, 0.8))
        ax.text(0.5, 0.5, "Probability of improvement needs at least two algorithms", ha="center", va="center")
        ax.set_axis_off()
        return save(fig, stem)
    data = improvement if focus is None else improvement[improvement.algo_x == focus]
    if data.empty:
        raise ValueError(
            f"no probability-of-improvement rows for --focus {focus!r}; "
            f"algorithms: {sorted(improvement.algo_x.unique())}"
        )
    groups = list(dict.fromkeys(data.group))
    style.paper_style()
    n = data.groupby("group").size().max()
    fig, axes = plt.subplots(
        1,
        len(groups),
        figsize=(min(style.TEXT_WIDTH_IN, style.COLUMN_WIDTH_IN * len(groups)), 0.22 * n + 0.8),
        squeeze=False,
    )
    for ax, group in zip(axes[0], groups):
        rows = data[data.group == group].reset_index(drop=True)
        for y, r in rows.iterrows():
            ax.barh(
                y,
                max(r.ci_high - r.ci_low, 2e-3),
                left=r.ci_low,
                height=0.6,
                color=style.color(r.algo_x),
                alpha=0.85,
                hatch=style.hatch(r.algo_x),
                edgecolor="white",
                linewidth=0,
            )
            ax.vlines(r.value, y - 0.3, y + 0.3, color="black", lw=1.0)
        ax.axvline(0.5, color="black", ls=":", lw=0.8)
        ax.set_yticks(
            range(len(rows)), [f"P({style.label(r.algo_x)} > {style.label(r.algo_y)})" for r in rows.itertuples()]
        )
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.set_xlabel("Probability of improvement")
        ax.set_title(group.upper() if len(groups) > 1 else "Probability of improvement")
    fig.tight_layout()
    return save(fig, stem)

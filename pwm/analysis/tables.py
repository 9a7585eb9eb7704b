"""The paper's tables as Markdown: aggregate metrics with CIs per group, and per-task scores.

Markdown (not LaTeX) so the same file reads well in the Snakemake report, on GitHub and in a diff
against a previous run; numbers come straight from the aggregate CSVs.
"""

from __future__ import annotations

import pandas as pd

from pwm import atomic
from pwm.analysis import style

METRICS = ["iqm", "mean", "median", "optimality_gap"]


def cell(row) -> str:
    if pd.isna(row.ci_low):
        return f"{row.value:.3f}"
    return f"{row.value:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


def aggregate_table(aggregates: pd.DataFrame) -> str:
    lines = ["| group | algorithm | " + " | ".join(METRICS) + " |", "|---|---|" + "---|" * len(METRICS)]
    for (group, algo), rows in aggregates.groupby(["group", "algo"], sort=False):
        by_metric = rows.set_index("metric")
        cells = [cell(by_metric.loc[m]) if m in by_metric.index else "" for m in METRICS]
        lines.append(f"| {group} | {style.label(algo)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def task_table(run_scores: pd.DataFrame) -> str:
    parts = []
    for group, rows in run_scores.groupby("group", sort=False):
        table = rows.groupby(["task", "algo"]).score.mean().unstack("algo")
        seeds = rows.groupby("algo").seed.nunique()
        header = [f"{style.label(a)} (n={seeds[a]})" for a in table.columns]
        lines = [
            f"### {group}: per-task score (mean over seeds)",
            "",
            "| task | " + " | ".join(header) + " |",
            "|---|" + "---|" * len(header),
        ]
        for task, values in table.iterrows():
            lines.append(f"| {task} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def write_tables(
    path, aggregates: pd.DataFrame, run_scores: pd.DataFrame | None, cost: pd.DataFrame | None = None
) -> None:
    text = "## Aggregate scores (95% CIs)\n\n" + aggregate_table(aggregates) + "\n"
    if run_scores is not None:
        text += "\n" + task_table(run_scores) + "\n"
    if cost is not None and not cost.empty:
        from pwm.analysis.provenance import cost_markdown

        text += "\n## Cost (sums over runs, all attempts; cost.csv has each run)\n\n" + cost_markdown(cost)
    atomic.write_text(path, text)

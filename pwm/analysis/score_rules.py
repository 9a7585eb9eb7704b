"""Which point of a run's learning curve is its score: one number per (algo, task, seed).

- ``final``: the last evaluation (the paper's multitask rule, and the default).
- ``max``: each run's own maximum over its evaluations (the notebooks' rule for SAC/DreamerV3
  experts; optimistic, every seed picks its own best point).
- ``best``: every seed's value at the one grid point where the across-seed *mean* curve peaks.
- ``iqm-peak``: the PWM paper's single-task rule: every seed's value at the grid point where the
  across-seed *IQM* curve peaks (after aligning the seeds on one grid, see ``curves``).
- ``at:N``: each run's last evaluation at or before N environment steps, so algorithms with
  different budgets are compared at equal steps; every run must have trained for N steps.

The peak rules pick one time per (algo, task), shared by its seeds, so seeds stay comparable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pwm.analysis.choices import check_rule
from pwm.analysis.curves import aligned_curves, iqm_over_seeds

RUN_SCORE_COLUMNS = ["algo", "task", "seed", "env_steps", "score"]


def scores_at(scores: pd.DataFrame, steps: int, keys: list[str]) -> pd.DataFrame:
    reached = scores.groupby(keys)["env_steps"].max()
    short = reached[reached < steps]
    if len(short):
        names = ", ".join(f"{a}/{t}/seed{s} ({int(n)})" for (a, t, s), n in short.head(5).items())
        raise ValueError(
            f"score rule at:{steps}: {len(short)} run(s) end before {steps} environment steps: "
            f"{names}{' ...' if len(short) > 5 else ''}; aggregate them at fewer steps or without them"
        )
    before = scores[scores["env_steps"] <= steps].sort_values("env_steps", kind="stable")
    chosen = before.groupby(keys, as_index=False).tail(1)
    return chosen[RUN_SCORE_COLUMNS].sort_values(keys).reset_index(drop=True)


def choose_scores(scores: pd.DataFrame, rule: str = "final", thin: int = 1) -> tuple[pd.DataFrame, list[str]]:
    """Per-run scores (``RUN_SCORE_COLUMNS``) under ``rule``, and notes on how curves were aligned."""
    check_rule(rule)
    if scores.empty:
        raise ValueError("no scores to aggregate")
    keys = ["algo", "task", "seed"]
    if rule.startswith("at:"):
        return scores_at(scores, int(rule[3:]), keys), []
    if rule == "final":
        chosen = scores.sort_values("step", kind="stable").groupby(keys, as_index=False).tail(1)
        return chosen[RUN_SCORE_COLUMNS].sort_values(keys).reset_index(drop=True), []
    if rule == "max":
        if scores["score"].isna().any():
            chosen = scores  # let score_matrices name the NaN runs
        else:
            chosen = scores.loc[scores.groupby(keys)["score"].idxmax()]
        return chosen[RUN_SCORE_COLUMNS].sort_values(keys).reset_index(drop=True), []
    curves, notes = aligned_curves(scores, "score", thin)
    rows = []
    for (algo, task), table in curves.items():
        center = table.mean(axis=1).to_numpy() if rule == "best" else iqm_over_seeds(table)
        if np.isnan(center).all():
            raise ValueError(f"{algo!r} on {task!r}: every score is NaN")
        peak = int(np.nanargmax(center))
        for seed, value in table.iloc[peak].items():
            rows.append(dict(algo=algo, task=task, seed=int(seed), env_steps=table.index[peak], score=value))
    return pd.DataFrame(rows, columns=RUN_SCORE_COLUMNS), notes

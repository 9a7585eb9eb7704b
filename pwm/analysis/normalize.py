"""Per-task normalisation: raw scores -> comparable ``score`` values, with the scale of every task.

- ``tdmpc2`` (default): TD-MPC2's multitask rule, also the PWM paper's: dm_control return / 1000
  (registered tasks: / their ``max_return``), success-based tasks (Meta-World, ``mw-*``) their
  success rate. See ``scores.normalized_score``.
- ``algo:NAME``: episode return divided by the peak of NAME's across-seed IQM curve on that task
  (the PWM single-task figure's "PPO-normalised" axis, from PPO's own data).
- ``scales``: episode return divided by explicit per-task scales (e.g. the notebook's hard-coded
  PPO peaks when PPO's files are not published).
- ``raw``: the episode return itself.

The used scales are returned as a table (written as ``normalization.csv``) so a reader can see
which divisor produced every number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pwm.analysis.curves import aligned_curves, iqm_over_seeds
from pwm.analysis.scores import normalized_score

NORMALIZATIONS = ("tdmpc2", "algo:NAME", "scales", "raw")
NORMALIZATION_COLUMNS = ["task", "rule", "scale"]


def tdmpc2_rule(task: str) -> tuple[str, float]:
    """('success', 1) or ('return', max_return) for one task (registry first, else its name)."""
    reward = float(normalized_score(task, [1.0], [np.nan])[0])
    return ("success", 1.0) if np.isnan(reward) else ("return", 1.0 / reward)


def algorithm_peak_scales(scores: pd.DataFrame, reference: str, thin: int = 1) -> dict[str, float]:
    """{task: max over time of ``reference``'s across-seed IQM of the episode return}."""
    ref = scores[scores.algo == reference]
    if ref.empty:
        raise ValueError(
            f"--normalize algo:{reference}: no scores of {reference!r}; "
            f"algorithms present: {sorted(scores.algo.unique())}"
        )
    missing = sorted(set(scores.task) - set(ref.task))
    if missing:
        raise ValueError(f"--normalize algo:{reference}: {reference!r} has no runs on tasks {missing}")
    curves, _ = aligned_curves(ref, "episode_reward", thin)
    return {task: float(np.max(iqm_over_seeds(table))) for (_, task), table in curves.items()}


def normalize(
    scores: pd.DataFrame, how: str = "tdmpc2", scales: dict[str, float] | None = None, thin: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``scores`` with a ``score`` column, and the per-task table of the rule and scale used."""
    scores = scores.copy()
    tasks = sorted(scores.task.unique())
    if how == "tdmpc2":
        rules = {task: tdmpc2_rule(task) for task in tasks}
        scores["score"] = np.nan
        for task, rows in scores.groupby("task").groups.items():
            part = scores.loc[rows]
            scores.loc[rows, "score"] = normalized_score(task, part.episode_reward, part.episode_success)
        table = [(t, f"tdmpc2 {rule}", scale) for t, (rule, scale) in rules.items()]
        return scores, pd.DataFrame(table, columns=NORMALIZATION_COLUMNS)
    if how == "raw":
        scores["score"] = scores.episode_reward.astype(float)
        return scores, pd.DataFrame([(t, "raw return", 1.0) for t in tasks], columns=NORMALIZATION_COLUMNS)
    if how.startswith("algo:"):
        reference = how.removeprefix("algo:")
        divisors = algorithm_peak_scales(scores, reference, thin)
        rule = f"return / peak IQM of {reference}"
    elif how == "scales":
        divisors = dict(scales or {})
        missing = [t for t in tasks if t not in divisors]
        if missing:
            raise ValueError(f"--normalize scales: no --scale for tasks {missing}")
        rule = "return / given scale"
    else:
        raise ValueError(f"unknown normalisation {how!r}; known: {', '.join(NORMALIZATIONS)}")
    bad = {t: s for t, s in divisors.items() if t in tasks and not (np.isfinite(s) and s > 0)}
    if bad:
        raise ValueError(f"normalisation scales must be positive and finite, got {bad}")
    scores["score"] = scores.episode_reward.astype(float) / scores.task.map(divisors)
    return scores, pd.DataFrame([(t, rule, divisors[t]) for t in tasks], columns=NORMALIZATION_COLUMNS)

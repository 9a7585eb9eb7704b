"""The tidy scores table: one row per (algo, task, seed, step), the only input of aggregation.

Collecting every run's eval.csv into one table (instead of aggregating from run directories)
means published results can be imported into the same table and treated identically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pwm import atomic
from pwm.envs import scoring
from pwm.schema import EVAL_COLUMNS

SCORE_COLUMNS = EVAL_COLUMNS


def read_scores(paths: list[str | Path]) -> pd.DataFrame:
    """Read and concatenate eval.csv/scores.csv files, checking their columns."""
    if not paths:
        raise ValueError("no score files given")
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path, encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: not UTF-8 text (byte {err.start}); a scores file is a UTF-8 CSV") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise ValueError(f"{path}: not a CSV scores table: {str(err).strip()}") from None
        missing = [c for c in SCORE_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}; expected {SCORE_COLUMNS}")
        if frame.empty:
            raise ValueError(f"{path}: no rows")
        check_values(frame, path)
        frames.append(frame[SCORE_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def check_values(frame: pd.DataFrame, path) -> None:
    """Scores are finite numbers (a metric a run does not report may be empty, i.e. NaN: an imported
    reward-only task has no success); step, env_steps and seed are integers. The first bad cell is
    reported by file line (the header is line 1; these files have no blank lines) and column."""
    for column in ("step", "env_steps", "seed", "episode_reward", "episode_success"):
        values = pd.to_numeric(frame[column], errors="coerce")
        integer = column in ("step", "env_steps", "seed")
        raw_bad = values.isna() & frame[column].notna()
        as_float = values.to_numpy(dtype=float, na_value=np.nan)
        bad = raw_bad.to_numpy() | np.isinf(as_float)
        if integer:
            bad |= np.isnan(as_float) | (~np.isnan(as_float) & (as_float != np.floor(as_float)))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            expected = "an integer" if integer else "a finite number (or empty)"
            raise ValueError(
                f"{path}, line {row + 2}, column {column!r}: {str(frame[column].iloc[row])!r} is not {expected}"
            )


def collect(run_files: list[str | Path], out: str | Path) -> pd.DataFrame:
    scores = read_scores(run_files).sort_values(["algo", "task", "seed", "step"], kind="stable")
    duplicated = scores.duplicated(["algo", "task", "seed", "step"])
    if duplicated.any():
        raise ValueError(f"duplicate (algo, task, seed, step) rows, e.g.\n{scores[duplicated].head()}")
    atomic.write_csv(out, scores)
    from pwm.analysis.provenance import write_provenance

    out = Path(out)
    for warning in write_provenance(run_files, out.with_name("provenance.csv"), out.with_name("cost.csv")):
        print(f"WARNING: {warning}")
    return scores


def normalized_score(task: str, episode_reward, episode_success):
    """TD-MPC2's multitask normalisation: dm_control return / 1000, success-based tasks their success.

    The rule of each task is ``pwm.envs.scoring``'s (the registry takes its scores from there; the
    differentiable tasks divide by their own scales). Names it does not list (imported published
    results) follow TD-MPC2's naming: ``mw-*`` is Meta-World (success), anything else a 1000-return
    dm_control-style task.
    """
    if scoring.score_kind(task) == "success":
        return np.asarray(episode_success, dtype=float)
    return np.asarray(episode_reward, dtype=float) / scoring.max_return(task)


def add_normalized(scores: pd.DataFrame) -> pd.DataFrame:
    scores = scores.copy()
    scores["score"] = np.nan
    for task, rows in scores.groupby("task").groups.items():
        subset = scores.loc[rows]
        scores.loc[rows, "score"] = normalized_score(task, subset["episode_reward"], subset["episode_success"])
    return scores


def final_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Each run's score at its last evaluation (the paper's multitask rule)."""
    last = scores.sort_values("step").groupby(["algo", "task", "seed"], as_index=False).tail(1)
    return last.reset_index(drop=True)


def score_matrices(final: pd.DataFrame, column: str = "score") -> tuple[dict[str, np.ndarray], list[str]]:
    """{algo: array (runs, tasks)} in rliable's layout, with one task order for every algorithm.

    Every algorithm must have the same seeds on each of its tasks; a missing run would otherwise
    silently shrink a task's weight, so it is an error naming the missing runs.
    """
    if final.empty:
        raise ValueError("no scores to aggregate")
    if final[column].isna().any():
        bad = final[final[column].isna()][["algo", "task", "seed"]]
        raise ValueError(f"NaN scores for runs:\n{bad.to_string(index=False)}")
    tasks = sorted(final["task"].unique())
    matrices = {}
    for algo, rows in final.groupby("algo"):
        table = rows.pivot(index="seed", columns="task", values=column)
        missing_tasks = [t for t in tasks if t not in table.columns]
        if missing_tasks:
            raise ValueError(
                f"algorithm {algo!r} has no runs for tasks {missing_tasks}; every algorithm needs every task ({tasks})"
            )
        table = table[tasks]
        if table.isna().any().any():
            holes = [(t, s) for t in tasks for s in table.index if pd.isna(table.loc[s, t])]
            raise ValueError(f"algorithm {algo!r}: seeds differ across tasks; missing (task, seed) runs: {holes}")
        matrices[algo] = table.to_numpy(dtype=float)
    return matrices, tasks

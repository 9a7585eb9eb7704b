"""Merge per-task replay exports into one multitask dataset in a suite's layout (``build-dataset``).

TD-MPC2's multitask datasets are the replay buffers of single-task agents, relabelled with the
task's id in the suite (its embedding row), observations zero-padded to the suite's largest obs
dim and actions to its largest action dim, and cut into rows of a fixed length (mt30: 501 =
one 500-step episode; mt80: 101, so a DMC episode becomes 5 rows). This module does the same
with the chunks that ``pwm-bench train --algo tdmpc2`` writes to ``<run>/dataset/``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from tensordict import TensorDict

from pwm.data.chunks import DatasetError, chunk_paths, load_chunk, save_chunk
from pwm.envs.suites import suite_tasks

ROW_LENGTH = {"mt30": 501, "mt80": 101}  # rows of TD-MPC2's public chunks


def suite_dims(suite: str) -> tuple[int, int]:
    """(max obs dim, max action dim) of a suite, from TD-MPC2's task table."""
    from pwm.envs.suites import TASK_SETS

    table = TASK_SETS[suite]
    return max(o for _, o, _ in table), max(a for _, _, a in table)


def split_rows(chunk: TensorDict, row_length: int) -> TensorDict:
    """Cut ``[E, T]`` episode rows into consecutive ``[*, row_length]`` rows sharing one boundary obs.

    Row k covers steps ``k·(row_length-1) ... k·(row_length-1)+row_length-1``; its first action and
    reward are dummies (never sampled), as in TD-MPC2's mt80 chunks. A tail shorter than a row is
    dropped."""
    T = chunk.batch_size[1]
    if T == row_length:
        return chunk
    step = row_length - 1
    starts = list(range(0, T - row_length + 1, step))
    if not starts:
        raise DatasetError(f"episodes of {T} rows are shorter than the row length {row_length}")
    parts = [chunk[:, s : s + row_length] for s in starts]
    return torch.stack(parts, dim=1).reshape(-1, row_length)


def pad_chunk(chunk: TensorDict, task_id: int, obs_dim: int, action_dim: int) -> TensorDict:
    """Zero-pad obs/action to the suite dims and set every task id to ``task_id``."""
    E, T = chunk.batch_size
    o, a = chunk["obs"].shape[-1], chunk["action"].shape[-1]
    if o > obs_dim or a > action_dim:
        raise DatasetError(f"data of obs dim {o} / action dim {a} do not fit the suite's {obs_dim} / {action_dim}")
    obs = torch.zeros(E, T, obs_dim)
    obs[..., :o] = chunk["obs"]
    action = torch.zeros(E, T, action_dim)
    action[..., :a] = chunk["action"]
    action[:, 0] = float("nan")  # the dummy first step stays a dummy in every column
    out = dict(
        obs=obs,
        action=action,
        reward=chunk["reward"].float().clone(),
        task=torch.full((E, T), task_id, dtype=torch.int32),
    )
    if "terminated" in chunk.keys():
        out["terminated"] = chunk["terminated"].clone()
    return TensorDict(out, batch_size=[E, T])


def run_task(run_dir: Path) -> str:
    """The task of a run directory (from its config.yaml)."""
    cfg_path = Path(run_dir) / "config.yaml"
    if not cfg_path.is_file():
        raise DatasetError(f"{run_dir}: no config.yaml, so the run's task is unknown")
    return yaml.safe_load(cfg_path.read_text())["task"]


# Transitions in TD-MPC2's public datasets (docs/reference-notes.md §7.5), on which the PWM paper's multitask
# world models were trained; a self-collected dataset is compared against them in the log.
PUBLIC_DATASET_TRANSITIONS = {"mt30": 345_690_000, "mt80": 550_450_000}


def size_warning(suite: str, transitions: int, runs: int) -> str:
    """The log line that says how a self-collected dataset compares with TD-MPC2's public one."""
    public = PUBLIC_DATASET_TRANSITIONS[suite]
    return (
        f"[build-dataset] WARNING: self-collected {suite} dataset: {transitions:,} transitions from {runs} "
        f"run(s), {public / max(transitions, 1):,.1f}x fewer than TD-MPC2's public {suite} dataset "
        f"({public / 1e6:.2f}M) that the PWM paper's world models learned from; expect lower scores than "
        f"the paper's. To use the public data set world_model.dataset (README: 'Reproducing the paper's "
        f"multitask numbers')."
    )


def build_dataset(
    run_dirs, suite: str, out_dir, row_length: int | None = None, rows_per_chunk: int = 200_000
) -> list[Path]:
    """Merge ``<run>/dataset/*.pt`` of single-task runs into ``out_dir/chunk_{i}.pt`` for ``suite``."""
    tasks = suite_tasks(suite)
    obs_dim, action_dim = suite_dims(suite)
    row_length = row_length or ROW_LENGTH.get(suite, 501)
    parts = []
    for run_dir in run_dirs:
        task = run_task(run_dir)
        if task not in tasks:
            raise DatasetError(f"{run_dir}: task {task!r} is not in suite {suite}")
        for path in chunk_paths(Path(run_dir) / "dataset"):
            chunk = split_rows(load_chunk(path, mmap=False), row_length)
            parts.append(pad_chunk(chunk, tasks.index(task), obs_dim, action_dim))
    if not parts:
        raise DatasetError("no runs given")
    merged = torch.cat(parts, dim=0)
    transitions = int(torch.isfinite(merged["reward"][:, 1:]).sum())
    print(size_warning(suite, transitions, len(list(run_dirs))), flush=True)
    out_dir = Path(out_dir)
    written = []
    for i, start in enumerate(range(0, merged.batch_size[0], rows_per_chunk)):
        path = out_dir / f"chunk_{i}.pt"
        save_chunk(merged[start : start + rows_per_chunk], path)
        written.append(path)
    return written

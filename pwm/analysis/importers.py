"""Published results -> the tidy scores table, so they are aggregated and plotted like our own runs.

Three formats (``FORMATS``):

- ``tdmpc2-results``: TD-MPC2's published curves, a directory of ``<task>.csv`` with
  ``step, reward|success, seed`` (Meta-World files have ``success``).
- ``pwm-multitask``: final multitask scores; PWM's ``mt{30,80}_results.csv`` (one seed, so
  ``seed`` is absent and becomes 0) and TD-MPC2's ``task, seed, episode_reward,
  episode_success`` score files.
- ``pwm-single-task``: wandb exports; an x column (``Step``, or ``Relative Time (Process)`` in
  seconds, converted with ``--fps``) and one ``<run> - <metric>`` column per seed; the
  ``__MIN``/``__MAX`` columns and wandb's ``_step`` columns are ignored. A row holds only the
  runs that logged at that x, so each seed keeps just its own non-empty cells.

Malformed input raises :class:`MalformedInput` naming the file, the line and the column, because
a published file that silently loses rows would change the paper numbers without a trace.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from pwm import atomic
from pwm.analysis.choices import FORMATS
from pwm.analysis.scores import SCORE_COLUMNS

STEP_COLUMN = "Step"
TIME_COLUMN = "Relative Time (Process)"
# wandb metric names of the paper's exports, in order of preference.
SINGLE_TASK_METRICS = ("rewards", "rewards/time", "train/episode_reward", "episode_reward")


class MalformedInput(ValueError):
    """A published file that cannot be read as its format; the message says where."""


def where(path, line: int | None = None, column: str | None = None, frame: pd.DataFrame | None = None) -> str:
    text = str(path)
    if line is not None:
        text += f", line {line}"
    if column is not None:
        number = f" {list(frame.columns).index(column) + 1}" if frame is not None else ""
        text += f", column{number} {column!r}"
    return text


def read_text(path: Path) -> str:
    """The file as UTF-8 text; undecodable bytes are an error naming the file, line and byte offset."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise MalformedInput(
            f"{where(path, line)}: not UTF-8 text (byte {err.start}: {data[err.start : err.start + 1]!r}); "
            "export the file as UTF-8 CSV"
        ) from None


def check_row_lengths(path: Path, text: str | None = None) -> list[int]:
    """Every row has the header's number of fields (pandas would silently shift a longer row).

    Returns the file line (1-based; the header is line 1) of each non-blank data row, in order:
    pandas skips blank lines, so a frame's row index is not a line number."""
    text = read_text(path) if text is None else text
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise MalformedInput(f"{path}: empty file (no header)")
    lines, start = [], reader.line_num + 1
    for row in reader:
        if row and len(row) != len(header):
            raise MalformedInput(f"{where(path, start)}: {len(row)} fields, the header has {len(header)}")
        if row:
            lines.append(start)
        start = reader.line_num + 1
    return lines


def read_table(path: Path) -> pd.DataFrame:
    """A CSV as strings (nothing coerced yet), with parser errors naming the file.

    ``frame.attrs["lines"]`` holds each row's line in the file."""
    text = read_text(path)
    lines = check_row_lengths(path, text)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True, index_col=False)
    except pd.errors.EmptyDataError:
        raise MalformedInput(f"{path}: empty file (no header)") from None
    except pd.errors.ParserError as err:
        raise MalformedInput(f"{path}: {err}") from None
    if frame.empty:
        raise MalformedInput(f"{path}: header only, no data rows")
    if len(lines) != len(frame):  # cannot happen for these formats; never report a wrong line
        lines = [None] * len(frame)
    frame.attrs["lines"] = lines
    return frame


def line_of(frame: pd.DataFrame, row: int) -> int | None:
    """The file line of the frame's ``row`` (0-based), as read by :func:`read_table`."""
    lines = frame.attrs.get("lines")
    return lines[row] if lines is not None else row + 2


def lines_of(frame: pd.DataFrame) -> pd.Series:
    return pd.Series([line_of(frame, i) for i in range(len(frame))])


def numeric(
    frame: pd.DataFrame, column: str, path: Path, allow_empty: bool = False, integer: bool = False
) -> pd.Series:
    """One column as floats; the first cell that is not a finite number (an integer with
    ``integer``) is reported by its line in the file and its column."""
    raw = frame[column].str.strip()
    values = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
    bad = values.isna() & ((raw != "") | (not allow_empty))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        cell = frame[column].iloc[row]
        what = "an empty cell" if cell.strip() == "" else f"{cell!r} is not a number"
        raise MalformedInput(f"{where(path, line_of(frame, row), column, frame)}: {what}")
    infinite = np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise MalformedInput(
            f"{where(path, line_of(frame, row), column, frame)}: {frame[column].iloc[row]!r} is not "
            "a finite number (scores, steps and seeds must be finite)"
        )
    if integer:
        as_float = values.to_numpy(dtype=float, na_value=np.nan)
        fractional = ~np.isnan(as_float) & (as_float != np.floor(as_float))
        if fractional.any():
            row = int(np.flatnonzero(fractional)[0])
            raise MalformedInput(
                f"{where(path, line_of(frame, row), column, frame)}: {frame[column].iloc[row]!r} is "
                f"not an integer ({column} must be a whole number)"
            )
    return values.astype(float)


def require_columns(frame: pd.DataFrame, columns, path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MalformedInput(f"{where(path, 1)}: missing columns {missing}; found {list(frame.columns)}")


def expand_paths(paths, pattern: str = "*.csv") -> list[Path]:
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.glob(pattern))
            if not found:
                raise MalformedInput(f"{path}: directory holds no {pattern} files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise MalformedInput(f"{path}: no such file or directory")
    if not files:
        raise MalformedInput("no input paths given")
    return files


def tidy(algo: str, task: str, seed, step, reward, success, env_steps=None, wall_time=None) -> pd.DataFrame:
    n = len(step)
    return pd.DataFrame(
        dict(
            algo=algo,
            task=task,
            seed=np.asarray(seed, dtype=int) if np.ndim(seed) else np.full(n, int(seed)),
            step=np.asarray(step),
            env_steps=np.asarray(step if env_steps is None else env_steps),
            wall_time_s=np.full(n, np.nan) if wall_time is None else np.asarray(wall_time, dtype=float),
            episode_reward=np.asarray(reward, dtype=float),
            episode_success=np.asarray(success, dtype=float),
        )
    )[SCORE_COLUMNS]


def check_unique(frame: pd.DataFrame, keys: list[str], path: Path, lines: pd.Series) -> None:
    duplicated = frame.duplicated(keys, keep=False)
    if duplicated.any():
        first = frame[duplicated].iloc[0]
        dup_lines = lines[duplicated & (frame[keys] == first[keys]).all(axis=1)].tolist()
        raise MalformedInput(
            f"{path}: lines {dup_lines} repeat the same ({', '.join(f'{k}={first[k]}' for k in keys)})"
        )


# ------------------------------------------------------------------------------------------------
def import_tdmpc2_results(files: list[Path], algo: str) -> pd.DataFrame:
    frames = []
    for path in files:
        frame = read_table(path)
        metric = "success" if "success" in frame.columns else "reward"
        require_columns(frame, ["step", metric, "seed"], path)
        step = numeric(frame, "step", path, integer=True)
        seed = numeric(frame, "seed", path, integer=True)
        value = numeric(frame, metric, path)
        lines = lines_of(frame)
        out = tidy(
            algo,
            path.stem,
            seed,
            step.astype(np.int64),
            value if metric == "reward" else np.full(len(frame), np.nan),
            value if metric == "success" else np.full(len(frame), np.nan),
        )
        check_unique(out, ["seed", "step"], path, lines)
        frames.append(out)
    return pd.concat(frames, ignore_index=True)


def import_pwm_multitask(files: list[Path], algo: str) -> pd.DataFrame:
    frames = []
    for path in files:
        frame = read_table(path)
        require_columns(frame, ["task", "episode_reward", "episode_success"], path)
        empty = frame["task"].str.strip() == ""
        if empty.any():
            raise MalformedInput(
                f"{where(path, line_of(frame, int(np.flatnonzero(empty)[0])), 'task', frame)}: empty task name"
            )
        seed = numeric(frame, "seed", path, integer=True).astype(int) if "seed" in frame.columns else 0
        step = (
            numeric(frame, "iteration", path, integer=True).astype(np.int64)
            if "iteration" in frame.columns
            else np.zeros(len(frame), np.int64)
        )
        out = tidy(
            algo,
            frame["task"].str.strip().to_numpy(),
            seed,
            step,
            numeric(frame, "episode_reward", path),
            numeric(frame, "episode_success", path),
        )
        check_unique(out, ["task", "seed"], path, lines_of(frame))
        frames.append(out)
    return pd.concat(frames, ignore_index=True)


RUN_COLUMN = re.compile(r"^(?P<run>.+) - (?P<metric>.+?)$")


def single_task_runs(frame: pd.DataFrame, path: Path, metric: str | None) -> dict[str, str]:
    """{column: run name} of the per-seed value columns (``<run> - <metric>``)."""
    by_metric: dict[str, dict[str, str]] = {}
    for column in frame.columns:
        if column.endswith(("__MIN", "__MAX")):
            continue
        match = RUN_COLUMN.match(column)
        if match:
            by_metric.setdefault(match["metric"], {})[column] = match["run"]
    if metric is None:
        metric = next((m for m in SINGLE_TASK_METRICS if m in by_metric), None)
    if metric not in by_metric:
        raise MalformedInput(
            f"{where(path, 1)}: no '<run> - {metric or '|'.join(SINGLE_TASK_METRICS)}' "
            f"columns; metrics found: {sorted(by_metric)} (choose one with --metric)"
        )
    return by_metric[metric]


def seed_of(run: str, index: int) -> int:
    """The trailing number of a wandb run name (``FOWM_AntEnv_sweep_4`` -> 4), else its position."""
    match = re.search(r"(\d+)$", run)
    return int(match.group(1)) if match else index


def default_task_name(path: Path) -> str:
    """``pwm_ant.csv`` -> ``ant``, ``shac_hopper_time.csv`` -> ``hopper`` (the paper's file names)."""
    stem = path.stem.removesuffix("_time")
    return stem.split("_", 1)[1] if "_" in stem else stem


def import_pwm_single_task(
    files: list[Path], algo: str, task: str | None = None, fps: float | None = None, metric: str | None = None
) -> pd.DataFrame:
    if task is not None and len(files) > 1:
        raise MalformedInput(f"--task names one task but {len(files)} files were given")
    frames = []
    for path in files:
        frame = read_table(path)
        if STEP_COLUMN in frame.columns:
            x = numeric(frame, STEP_COLUMN, path, integer=True)
            env_steps, wall_time = x, None
        elif TIME_COLUMN in frame.columns:
            if fps is None:
                raise MalformedInput(
                    f"{where(path, 1, TIME_COLUMN, frame)}: the x axis is wall-clock seconds; "
                    "pass --fps (environment steps per second) to place it on a step axis"
                )
            x = numeric(frame, TIME_COLUMN, path)
            env_steps, wall_time = np.round(x * fps), x
        else:
            raise MalformedInput(
                f"{where(path, 1)}: no {STEP_COLUMN!r} or {TIME_COLUMN!r} column; found {list(frame.columns)[:6]}..."
            )
        runs = single_task_runs(frame, path, metric)
        seeds = [seed_of(run, i) for i, run in enumerate(runs.values())]
        if len(set(seeds)) != len(seeds):
            seeds = list(range(len(runs)))  # run names without distinct numbers: number by position
        name = task or default_task_name(path)
        for (column, _run), seed in zip(runs.items(), seeds):
            values = numeric(frame, column, path, allow_empty=True)
            logged = values.notna().to_numpy()
            if not logged.any():
                raise MalformedInput(f"{where(path, None, column, frame)}: the run logged no values")
            out = tidy(
                algo,
                name,
                seed,
                np.asarray(x)[logged].astype(np.int64),
                values[logged],
                np.full(int(logged.sum()), np.nan),
                np.asarray(env_steps)[logged].astype(np.int64),
                None if wall_time is None else np.asarray(wall_time)[logged],
            )
            check_unique(out, ["seed", "step"], path, lines_of(frame)[logged].reset_index(drop=True))
            frames.append(out)
    return pd.concat(frames, ignore_index=True)


def import_published(
    fmt: str,
    algo: str,
    paths,
    tasks: list[str] | None = None,
    task: str | None = None,
    fps: float | None = None,
    metric: str | None = None,
) -> pd.DataFrame:
    """Read published files of format ``fmt`` as scores of ``algo``; ``tasks`` keeps only those tasks."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if not algo:
        raise ValueError("--algo must be a non-empty name")
    files = expand_paths(paths)
    if fmt == "tdmpc2-results":
        if tasks:  # read only the requested tasks' files
            by_name = {f.stem: f for f in files}
            missing = [t for t in tasks if t not in by_name]
            if missing:
                raise MalformedInput(
                    f"no published file for tasks {missing} among {len(files)} files (e.g. {files[0]})"
                )
            files = [by_name[t] for t in tasks]
        scores = import_tdmpc2_results(files, algo)
    elif fmt == "pwm-multitask":
        scores = import_pwm_multitask(files, algo)
    else:
        scores = import_pwm_single_task(files, algo, task=task, fps=fps, metric=metric)
    if tasks:
        missing = sorted(set(tasks) - set(scores.task))
        if missing:
            raise MalformedInput(f"tasks {missing} are not in the published files {[str(f) for f in files]}")
        scores = scores[scores.task.isin(tasks)]
    duplicated = scores.duplicated(["task", "seed", "step"])
    if duplicated.any():
        first = scores[duplicated].iloc[0]
        raise MalformedInput(
            f"two files give {algo!r} task {first.task!r} seed {first.seed} step {first.step}; "
            "import each file with its own --algo (or --task)"
        )
    return scores.sort_values(["algo", "task", "seed", "step"], kind="stable").reset_index(drop=True)


def write_import(fmt: str, algo: str, paths, out, **options) -> pd.DataFrame:
    scores = import_published(fmt, algo, paths, **options)
    atomic.write_csv(out, scores)
    return scores

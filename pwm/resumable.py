"""The state file a killed job resumes from, read back or set aside, never lost.

A run's ``checkpoint.pt`` (:mod:`pwm.run`) and a pretraining job's ``state.pt``
(:mod:`pwm.pretrain`, :mod:`pwm.singletask_pretrain`) are read as data only
(:func:`pwm.signing.load_data`). One that cannot be read (truncated by a full disk or a kill
outside pwm-bench's atomic writes, a damaged archive) is renamed ``<name>.corrupt.pt``, the job
says so in one log line and starts over: a raw unpickling traceback would tell the user neither
which file nor what to do, and deleting it would destroy what someone may want to inspect. A file
that would need code to load is different: :class:`~pwm.signing.UntrustedFileError` stops the job
and the file stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pwm.signing import UntrustedFileError, load_data


def set_aside(path: str | Path, kind: str) -> Path:
    """Rename ``path`` (``x.pt``) to ``x.<kind>.pt``, or ``x.<kind>.1.pt``, ``x.<kind>.2.pt``, ... if
    taken, so an earlier set-aside file is never overwritten; returns the new path."""
    path = Path(path)
    target, n = path.with_name(f"{path.stem}.{kind}{path.suffix}"), 0
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}.{kind}.{n}{path.suffix}")
    path.replace(target)
    return target


def set_aside_past_budget(
    path: str | Path, step: int, steps: int, log: Callable[[str], None], job: str = "the run"
) -> bool:
    """True, after setting ``path`` aside as ``<name>.stale.pt`` and logging one line, when its state
    is at ``step`` past a shorter budget ``steps``: no state of step ``steps`` was kept, so only
    starting over gives what a fresh job of this budget gives (finishing at once would hand back
    the longer job's result as the shorter one's)."""
    if step <= steps:
        return False
    stale = set_aside(path, "stale")
    log(
        f"not resuming: {path} is at step {step}, past the budget steps={steps}; it is kept as {stale} and "
        f"{job} starts from step 0"
    )
    return True


def set_aside_changed(path: str | Path, old: dict, new: dict, log: Callable[[str], None], job: str = "the run") -> bool:
    """True, after setting ``path`` aside as ``<name>.stale.pt`` and logging what changed, when a
    setting that changes the result differs (``old``: the state's, a missing key unchanged):
    Snakemake reruns a job whose params changed in the same folder, and continuing would mix two
    settings in one result."""
    changed = [k for k in new if k in old and old[k] != new[k]]
    if not changed:
        return False
    stale = set_aside(path, "stale")
    log(
        f"not resuming: {path} was written with other settings ("
        + "; ".join(f"{k}: {old[k]!r} -> {new[k]!r}" for k in changed)
        + f"); it is kept as {stale} and {job} starts from step 0"
    )
    return True


def unreadable_reason(path: str | Path, what: str, map_location="cpu") -> tuple[Any, str | None]:
    """``(data, None)`` for a readable dict, else ``(None, why it cannot be used)``; a file that needs
    arbitrary objects raises :class:`UntrustedFileError` (never treated as merely corrupt)."""
    try:
        data = load_data(path, what=what, map_location=map_location)
    except UntrustedFileError:
        raise
    except Exception as err:  # truncated, corrupt zip, unreadable, ...: nothing to resume from
        # The first sentence only: torch follows it with a paragraph of possible causes.
        first = str(err).splitlines()[0].split(". ")[0] if str(err) else ""
        return None, f"{type(err).__name__}: {first}"[:200]
    if not isinstance(data, dict):
        return None, f"holds a {type(data).__name__}, not a dict"
    return data, None


def read_or_set_aside(
    path: str | Path, what: str, log: Callable[[str], None], job: str = "the run", map_location="cpu"
) -> dict | None:
    """The state in ``path`` as data, or None after setting an unreadable one aside as
    ``<name>.corrupt.pt`` and logging one line saying so (``job`` then starts from step 0)."""
    data, problem = unreadable_reason(path, what, map_location)
    if problem is None:
        return data
    try:
        target = set_aside(path, "corrupt")
    except OSError as err:
        raise ValueError(
            f"{path}: cannot be read ({problem}) and cannot be set aside ({err}); delete it to start {job} over"
        ) from None
    log(f"not resuming: {path} cannot be read ({problem}); it is kept as {target} and {job} starts from step 0")
    return None

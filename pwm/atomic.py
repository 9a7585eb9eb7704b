"""Atomic file writes: a reader (Snakemake, a resumed run, a user) never sees half a file.

Each writer writes to a temporary file in the destination directory and renames it over the
target; a rename within one file system is atomic on POSIX, so a job killed mid-write leaves the
previous version intact.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported by the callers that write frames; `pwm-bench --help` needs none
    import pandas as pd


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class WriteError(OSError):
    """A file could not be written; the message names the file and the cause (e.g. a full disk)."""

    def __init__(self, code: int, message: str, path: str):
        super().__init__(code, message, path)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _free_bytes(directory: Path) -> int | None:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def write_error(path: Path, err: BaseException) -> WriteError:
    """``err`` (an OSError, or torch's RuntimeError such as "unexpected pos 128 vs 0" on a full disk)
    as one message naming ``path`` and the cause."""
    code = getattr(err, "errno", None)
    free = _free_bytes(path.parent)
    if code == errno.ENOSPC or (code is None and free is not None and free < 64 * 2**20):
        cause = f"no space left on the device ({free if free is not None else '?'} bytes free in {path.parent})"
        code = errno.ENOSPC
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        cause = f"permission denied ({os.strerror(code)}); check the permissions of {path.parent}"
    elif code is not None:
        cause = os.strerror(code)
    else:
        cause = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    return WriteError(
        code or errno.EIO, f"could not write {path}: {cause}; the previous version (if any) is left intact", str(path)
    )


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temps(directory: str | os.PathLike) -> list[Path]:
    """Delete temporary files a killed writer left in ``directory`` (``.<name>.<random>.tmp``);
    call it when a job starts, before anything writes there. Returns what was removed."""
    directory = Path(directory)
    removed = []
    for tmp in directory.glob(".*.tmp") if directory.is_dir() else ():
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` in one rename. On any failure the
    temporary file is removed and write errors name ``path`` and their cause (:class:`WriteError`)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; results are shared
    except OSError as err:
        raise write_error(path, err) from err
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, WriteError):
            raise
        if isinstance(err, OSError) or (isinstance(err, RuntimeError) and _looks_like_write_failure(err)):
            raise write_error(path, err) from err
        raise


def _looks_like_write_failure(err: RuntimeError) -> bool:
    """torch's serializer reports a failed write as a RuntimeError ("unexpected pos", "file write failed")."""
    text = str(err)
    return any(s in text for s in ("unexpected pos", "write failed", "PytorchStreamWriter", "No space"))


def create_new(path: str | os.PathLike, data: bytes, mode: int = 0o600) -> bool:
    """Create ``path`` holding ``data`` unless it already exists; True if this call created it.

    For a file that must never be replaced once made (the signing key: a second key would orphan
    every checkpoint sealed with the first), written by jobs that may start at the same moment. The
    bytes go to a temporary file first and are hard-linked into place, which fails if the name
    exists: a reader sees no file or the whole file, never an empty or partial one."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise write_error(path, err) from err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError as err:
        raise write_error(path, err) from err
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_csv(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def torch_save(path: str | os.PathLike, obj) -> None:
    """``torch.save`` through a temporary file. It writes to a file object, so the archive's
    internal folder is always "archive" and the same object gives the same bytes whatever the
    (random) temporary name: a saved checkpoint round-trips bitwise."""
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)

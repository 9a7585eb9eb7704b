"""Loading files without running their code, and the one pickle pwm-bench still needs.

Every file pwm-bench reads back (run checkpoints, pretraining state, world models, dataset chunks)
is opened with ``torch.load(weights_only=True)``: tensors, NumPy arrays and plain containers
only, so a file planted in a copied results folder cannot run code (:func:`load_data`).

Two things can only be restored from a pickle: stable-baselines3's training environment (the
simulator, its episode counters and random generators; ``gymnasium`` offers no other way to copy
an env) and SB3's model zip (SB3 stores its spaces and schedules with cloudpickle). pwm-bench
keeps them as *sealed* blobs (:func:`seal`): the pickle's bytes plus an HMAC-SHA256 tag under a
secret key that lives outside every results folder (``PWM_BENCH_KEY_FILE``, default
``~/.config/pwm-bench/checkpoint.key``, created 0600 on first use). :func:`unseal` checks the
tag before unpickling, so only blobs written by this user's own pwm-bench (same key) are ever
unpickled; a copied folder's blobs, or any edited blob, are refused with the file's name.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
from pathlib import Path
from typing import Any

from pwm import atomic

KEY_ENV = "PWM_BENCH_KEY_FILE"


class UntrustedFileError(ValueError):
    """A file that would need code execution to load, or a sealed blob whose tag does not match."""


def key_path() -> Path:
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "pwm-bench" / "checkpoint.key"


def _key() -> bytes:
    path = key_path()
    if not path.exists():
        # Another job may create it at the same moment: the first one's key is kept, whole.
        atomic.create_new(path, secrets.token_bytes(32), mode=0o600)
    key = path.read_bytes()
    if len(key) < 16:
        raise UntrustedFileError(
            f"{path}: the pwm-bench signing key is {len(key)} bytes, expected 32; "
            f"delete it (a new one is made) or set {KEY_ENV} to another key file"
        )
    return key


def tag(blob: bytes) -> str:
    return hmac.new(_key(), blob, hashlib.sha256).hexdigest()


def seal(obj: Any) -> dict:
    """``{"pickle": bytes, "hmac": hex}``: ``obj`` pickled and signed with this user's key."""
    blob = pickle.dumps(obj)
    return {"pickle": blob, "hmac": tag(blob)}


def seal_bytes(blob: bytes) -> dict:
    """A blob that a library unpickles itself (SB3's model zip), signed the same way."""
    return {"bytes": bytes(blob), "hmac": tag(blob)}


def _verified(sealed: Any, field: str, path, what: str) -> bytes:
    if (
        not isinstance(sealed, dict)
        or not isinstance(sealed.get(field), bytes)
        or not isinstance(sealed.get("hmac"), str)
    ):
        raise UntrustedFileError(
            f"{path}: its {what} is not a signed blob (written by an older pwm-bench, or not by pwm-bench); "
            "refusing to unpickle it. Delete the file to start the run over."
        )
    if not hmac.compare_digest(tag(sealed[field]), sealed["hmac"]):
        raise UntrustedFileError(
            f"{path}: the signature of its {what} does not match this user's key ({key_path()}): the file was "
            "written with another key (copied from another user or machine) or modified; refusing to unpickle "
            f"it. Delete the file to start the run over, or set {KEY_ENV} to the key that wrote it if you trust it."
        )
    return sealed[field]


def unseal(sealed: Any, path, what: str) -> Any:
    """The object of :func:`seal`, unpickled only if its tag matches this user's key."""
    return pickle.loads(_verified(sealed, "pickle", path, what))


def unseal_bytes(sealed: Any, path, what: str) -> bytes:
    return _verified(sealed, "bytes", path, what)


def numpy_globals() -> list:
    """The NumPy reconstructors a ``weights_only`` load needs for arrays and scalars (RNG states,
    buffers): they build arrays from raw bytes and run no other code."""
    import numpy as np

    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    return [
        np.ndarray,
        np.dtype,
        _reconstruct,
        scalar,
        type(np.dtype(np.float32)),
        type(np.dtype(np.float64)),
        type(np.dtype(np.int64)),
        type(np.dtype(np.int32)),
        type(np.dtype(np.uint32)),
        type(np.dtype(np.uint8)),
        type(np.dtype(np.bool_)),
    ]


def load_data(path, what: str = "file", map_location="cpu", **kwargs) -> Any:
    """``torch.load(path, weights_only=True)`` (tensors, NumPy arrays, plain containers).

    A file that needs any other object raises :class:`UntrustedFileError` naming the file and the
    object; other read errors (truncated, corrupt, unreadable) propagate unchanged for the caller
    to classify."""
    import torch

    with torch.serialization.safe_globals(numpy_globals()):
        try:
            return torch.load(path, map_location=map_location, weights_only=True, **kwargs)
        except pickle.UnpicklingError as err:
            # "Unsupported global: GLOBAL posix.system ..." is a foreign object; "Unsupported operand 0"
            # is an opcode no pickle has: damaged bytes (a garbled file), which the caller sets aside.
            detail = next(
                (
                    line.strip()
                    for line in str(err).splitlines()
                    if "unsupported" in line.lower() and "unsupported operand" not in line.lower()
                ),
                None,
            )
            if detail is None:
                raise  # a damaged pickle, not a foreign object: the caller treats it as corrupt
            raise UntrustedFileError(
                f"{path}: refusing to load this {what}: it holds objects that only a pickle could rebuild "
                f"({detail[:200]}), and pwm-bench writes tensors and plain data only; it was not written by "
                "pwm-bench (or was modified). Nothing in it was run."
            ) from None

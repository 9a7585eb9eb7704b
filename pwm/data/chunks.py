"""TD-MPC2 offline dataset chunks: ``chunk_{i}.pt`` files, each one ``torch.save``d TensorDict.

Layout (docs/reference-notes.md §7.5): batch size ``[episodes, T]`` with ``obs [E, T, O]`` float,
``action [E, T, A]`` float, ``reward [E, T]`` float, ``task [E, T]`` int (constant per row) and
optionally ``terminated [E, T]`` and ``valid [E, T]`` (this project's variable-length rows: 1 on a
prefix of real steps, 0 on the zero padding after it; see ``pwm.data.sampler``). Row ``i`` of an episode holds ``obs_i`` with the action and reward
that *led to* it, so ``action[:, 0]`` and ``reward[:, 0]`` are dummies (NaN).

Chunks are opened with ``torch.load(mmap=True)``: tensors stay backed by the file and pages are
read on demand, so a 20 GB mt30 chunk never needs to be copied into RAM (validation streams over
it in row blocks). Validation names the file and the field of the first problem found.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from tensordict import TensorDict

FIELDS = {"obs": 3, "action": 3, "reward": 2, "task": 2}  # field -> number of dims
OPTIONAL_FIELDS = {"terminated": 2, "valid": 2}
_SCAN_BYTES = 256 * 2**20  # validation reads this much of a field at a time


class DatasetError(ValueError):
    """A dataset chunk that is unreadable or breaks the TD-MPC2 layout."""


def _open(path: Path, mmap: bool):
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except RuntimeError as err:
        if mmap and "mmap" in str(err):  # pre-1.6 non-zip files cannot be mapped
            warnings.warn(f"{path}: legacy (non-zip) torch file, loading into memory instead of mapping it")
            return _open(path, mmap=False)
        raise DatasetError(f"{path}: cannot read the chunk (truncated or not a torch file): {err}") from None
    except Exception as err:
        raise DatasetError(f"{path}: cannot read the chunk: {type(err).__name__}: {err}") from None


def _row_blocks(tensor: torch.Tensor):
    """Yield row blocks of roughly ``_SCAN_BYTES`` so scans of mapped files stay bounded in memory."""
    row_bytes = max(tensor[0].numel() * tensor.element_size(), 1) if len(tensor) else 1
    step = max(1, _SCAN_BYTES // row_bytes)
    for start in range(0, len(tensor), step):
        yield start, tensor[start : start + step]


def validate_chunk(
    data: Mapping, name: str = "<chunk>", num_tasks: int | None = None, check_values: bool = True
) -> None:
    """Raise :class:`DatasetError` naming ``name`` and the field if ``data`` breaks the chunk layout.

    Checks required fields, dtypes, dims, equal ``[episodes, T]`` leading shapes, constant and
    in-range task ids; with ``check_values`` also NaN/inf in observations and NaN in actions or
    rewards after the dummy first step.
    """
    missing = [f for f in FIELDS if f not in data.keys()]
    if missing:
        raise DatasetError(f"{name}: missing field '{missing[0]}' (a TD-MPC2 chunk has {list(FIELDS)})")
    fields = dict(FIELDS, **{k: v for k, v in OPTIONAL_FIELDS.items() if k in data.keys()})
    lead = None
    for field, ndim in fields.items():
        value = data[field]
        if not torch.is_tensor(value):
            raise DatasetError(f"{name}: field '{field}' is a {type(value).__name__}, not a tensor")
        if field == "task":
            if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool:
                raise DatasetError(f"{name}: field 'task' has dtype {value.dtype}, expected an integer dtype")
        elif field in ("obs", "action", "reward") and not value.dtype.is_floating_point:
            raise DatasetError(f"{name}: field '{field}' has dtype {value.dtype}, expected a floating dtype")
        if value.ndim != ndim:
            raise DatasetError(
                f"{name}: field '{field}' has shape {tuple(value.shape)}, expected {ndim} dims "
                f"([episodes, T{', dim' if ndim == 3 else ''}])"
            )
        if lead is None:
            lead = tuple(value.shape[:2])
        elif tuple(value.shape[:2]) != lead:
            raise DatasetError(
                f"{name}: ragged lengths: field '{field}' has [episodes, T] = {tuple(value.shape[:2])} "
                f"but 'obs' has {lead}"
            )
    if lead[1] < 2:
        raise DatasetError(f"{name}: field 'obs' has T = {lead[1]}; episodes need at least one transition")
    task = data["task"]
    if len(task) and not torch.equal(task, task[:, :1].expand_as(task)):
        row = int((task != task[:, :1]).any(1).nonzero()[0])
        raise DatasetError(f"{name}: field 'task' changes within episode row {row}; an episode has one task")
    if len(task):
        low, high = int(task.min()), int(task.max())
        if low < 0 or (num_tasks is not None and high >= num_tasks):
            bad = low if low < 0 else high
            raise DatasetError(
                f"{name}: field 'task' has id {bad}, out of range [0, {num_tasks if num_tasks is not None else 'inf'})"
            )
    if "valid" in data.keys():
        valid = data["valid"]
        if len(valid) and bool((valid[:, 1:] > valid[:, :-1]).any()):
            row = int((valid[:, 1:] > valid[:, :-1]).any(1).nonzero()[0])
            raise DatasetError(
                f"{name}: field 'valid' is not a prefix of ones in episode row {row} "
                "(padding may only follow a row's real steps)"
            )
    if not check_values:
        return
    checks = [
        ("obs", lambda b: ~torch.isfinite(b), "NaN or inf"),
        ("action", lambda b: torch.isnan(b[:, 1:]), "NaN after the dummy first step"),
        ("reward", lambda b: torch.isnan(b[:, 1:]), "NaN after the dummy first step"),
    ]
    for field, bad_of, what in checks:
        for start, block in _row_blocks(data[field]):
            bad = bad_of(block)
            if bad.any():
                row = start + int(bad.reshape(len(block), -1).any(1).nonzero()[0])
                raise DatasetError(f"{name}: field '{field}' has {what} (episode row {row})")


def load_chunk(
    path, num_tasks: int | None = None, tasks: Iterable[int] | None = None, mmap: bool = True, check_values: bool = True
) -> TensorDict:
    """Open and validate one chunk; ``tasks`` keeps only those task ids (rows are then copied).

    With ``mmap`` (default) the tensors are views of the file, so nothing is read until used.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such chunk file")
    data = _open(path, mmap)
    if isinstance(data, Mapping) and not isinstance(data, TensorDict):
        data = dict(data)
    elif not isinstance(data, TensorDict):
        raise DatasetError(f"{path}: expected a TensorDict of obs/action/reward/task, found {type(data).__name__}")
    validate_chunk(data, str(path), num_tasks=num_tasks, check_values=check_values)
    if not isinstance(data, TensorDict):
        data = TensorDict(data, batch_size=data["obs"].shape[:2])
    return select_tasks(data, tasks) if tasks is not None else data


def select_tasks(chunk: TensorDict, tasks: Iterable[int]) -> TensorDict:
    """Rows (episodes) whose task id is in ``tasks``."""
    wanted = torch.as_tensor(sorted(set(int(t) for t in tasks)), dtype=torch.long)
    rows = torch.isin(chunk["task"][:, 0].long(), wanted).nonzero().squeeze(1)
    return chunk[rows]


def chunk_paths(data_dir) -> list[Path]:
    """Every ``*.pt`` in ``data_dir``, sorted (TD-MPC2's loading order); a chunk file is itself."""
    if Path(data_dir).is_file():
        return [Path(data_dir)]
    paths = sorted(Path(data_dir).glob("*.pt"))
    if not paths:
        raise DatasetError(f"{data_dir}: no *.pt dataset chunks found")
    return paths


def load_chunks(data_dir, **kwargs) -> list[TensorDict]:
    """All chunks of a TD-MPC2 dataset directory, each opened lazily (see :func:`load_chunk`)."""
    return [load_chunk(p, **kwargs) for p in chunk_paths(data_dir)]


def save_chunk(chunk: Mapping, path) -> None:
    """Write a chunk in TD-MPC2's format (a ``torch.save``d TensorDict), after validating it.

    Values are not scanned (first-step NaN dummies are expected); the layout is. Written atomically."""
    name = str(path)
    validate_chunk(chunk, name, check_values=False)
    keys = list(FIELDS) + [k for k in OPTIONAL_FIELDS if k in chunk.keys()]
    td = TensorDict({k: chunk[k].contiguous() for k in keys}, batch_size=chunk["obs"].shape[:2], device=None)
    from pwm import atomic

    atomic.torch_save(path, td)

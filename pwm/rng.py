"""Capture and restore every global random stream a training loop draws from.

A resumed run can only reproduce the uninterrupted one if Python's, NumPy's and torch's global
generators continue where they were when the checkpoint was written.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def get_state() -> dict:
    """Every global stream, as tensors and plain data only (NumPy's key array as a tensor), so a
    state file holding it loads with ``torch.load(weights_only=True)``."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    numpy_state = (name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached))
    state = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_state(state: dict) -> None:
    random.setstate(state["python"])
    name, keys, *rest = state["numpy"]  # keys: a tensor, or the array of checkpoints written before
    np.random.set_state((name, np.asarray(keys, dtype=np.int64).astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_all(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (and CUDA's) global generators from one run seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)

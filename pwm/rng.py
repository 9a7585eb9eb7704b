"""Capture and restore every global random stream a training loop draws from.

A resumed run can only reproduce the uninterrupted one if Python's, NumPy's and torch's global
generators continue where they were when the checkpoint was written.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def get_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

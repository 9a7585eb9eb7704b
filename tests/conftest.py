"""Shared pytest fixtures.

Reference files (real TD-MPC2 checkpoints, a dataset chunk, the PWM paper's score files) live in
``../shared/reference`` beside the project clone. They are never copied into the project; a test
that needs them skips with a reason when the folder is absent (e.g. in a user's clone).
"""

import os
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "disable")  # before any test module imports dm_control

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = PROJECT_ROOT.parent / "shared" / "reference"


@pytest.fixture
def reference_dir() -> Path:
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE_DIR} (only present beside the dev/CI clone)")
    return REFERENCE_DIR


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: torch's OpenMP workers only spin-wait (and are 30x slower on a loaded machine)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

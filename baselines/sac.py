"""Soft Actor-Critic (stable-baselines3) as a single-task expert baseline.

Hyperparameters: ``baselines/configs/sac.yaml`` (every keyword of SB3's SAC, documented there), read
through pwm.hparams. Its replay buffer is exported as a TD-MPC2 dataset chunk at the end
(``export_dataset``), so SAC runs can supply a multitask world model's data.
"""

from stable_baselines3 import SAC

from baselines.sb3 import train_sb3
from pwm import hparams
from pwm.run import Run

MAX_BUFFER_SIZE = 1_000_000  # SB3's default buffer size


def settings(run: Run) -> dict:
    """The run's hyperparameters; ``buffer_size: null`` (the default) is min(steps, 1e6), since a
    buffer larger than the budget only costs memory and checkpoint size."""
    s = run.settings
    cfg = hparams.resolve("sac", s.task, s.hparams)
    if cfg["buffer_size"] is None:
        cfg["buffer_size"] = min(s.steps, MAX_BUFFER_SIZE)
    return cfg


def train(run: Run) -> None:
    train_sb3(run, SAC, settings(run))

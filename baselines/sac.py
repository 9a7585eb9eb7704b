"""Soft Actor-Critic (stable-baselines3) as a single-task expert baseline."""

from stable_baselines3 import SAC

from baselines.sb3 import check_sb3_hparams, train_sb3
from pwm.run import Run

# export_dataset: write the replay buffer as a TD-MPC2 dataset chunk at the end (world-model data).
DEFAULTS = dict(learning_rate=3e-4, batch_size=256, gamma=0.99, tau=0.005, learning_starts=1000, export_dataset=True)


def check_hparams(task: str, hparams: dict, where: str = "") -> None:
    """Called when the DAG is built (pwm.workflow_config) and at the start of each run."""
    check_sb3_hparams("sac", SAC, {**DEFAULTS, "buffer_size": 1_000_000}, hparams, where)


def train(run: Run) -> None:
    # A buffer larger than the budget only costs memory and checkpoint size.
    defaults = {**DEFAULTS, "buffer_size": min(run.settings.steps, 1_000_000)}
    train_sb3(run, SAC, defaults)

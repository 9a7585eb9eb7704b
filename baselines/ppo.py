"""Proximal Policy Optimization (stable-baselines3) as a single-task baseline."""

from stable_baselines3 import PPO

from baselines.sb3 import check_sb3_hparams, train_sb3
from pwm.run import Run

DEFAULTS = dict(learning_rate=3e-4, n_steps=2048, batch_size=64, n_epochs=10, gamma=0.99)


def check_hparams(task: str, hparams: dict, where: str = "") -> None:
    """Called when the DAG is built (pwm.workflow_config) and at the start of each run."""
    check_sb3_hparams("ppo", PPO, DEFAULTS, hparams, where)


def train(run: Run) -> None:
    train_sb3(run, PPO, DEFAULTS)

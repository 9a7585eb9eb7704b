"""Proximal Policy Optimization (stable-baselines3) as a single-task baseline.

Hyperparameters: ``baselines/configs/ppo.yaml`` (every keyword of SB3's PPO, documented there), read
through pwm.hparams.
"""

from stable_baselines3 import PPO

from baselines.sb3 import train_sb3
from pwm import hparams
from pwm.run import Run


def train(run: Run) -> None:
    s = run.settings
    train_sb3(run, PPO, hparams.resolve("ppo", s.task, s.hparams))

"""Proximal Policy Optimization (stable-baselines3) as a single-task baseline."""
from stable_baselines3 import PPO

from baselines.sb3 import train_sb3
from pwm.run import Run

DEFAULTS = dict(learning_rate=3e-4, n_steps=2048, batch_size=64, n_epochs=10, gamma=0.99)


def train(run: Run) -> None:
    train_sb3(run, PPO, DEFAULTS)

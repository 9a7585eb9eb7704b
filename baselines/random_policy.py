"""Uniformly random actions: the worked example of adding a baseline, and the floor of a figure.

A baseline is a module in ``baselines/`` with ``train(run)``. It evaluates through
the harness's loop (``run.train``, :mod:`pwm.training_loop`) with a *learner*: a training step
that advances ``step``, ``done()``, the evaluation ``policy`` and ``state_dict``/``load_state_dict``.
The loop evaluates on the run's schedule with the shared protocol, checkpoints, resumes, prints
progress and writes eval.csv.
Its hyperparameters, if it had any, would be documented in ``baselines/configs/<name>.yaml``, which
``pwm.hparams`` reads strictly (the workflow checks them when the DAG is built); random_policy has
no such file, so it takes none.
"""

import numpy as np

from pwm import hparams
from pwm.envs import make
from pwm.run import Run
from pwm.training_loop import Cadence, Learner


class RandomLearner(Learner):
    """Nothing to learn: its one training step spends the budget, and the loop evaluates on schedule."""

    def __init__(self, run: Run):
        self.budget, self.rng = run.settings.steps, np.random.default_rng(run.settings.seed)
        env = make(run.settings.task, run.settings.seed)
        self.shape = env.action_space.shape
        env.close()

    def done(self) -> bool:
        return self.step >= self.budget

    def train_step(self) -> dict:
        self.step = self.budget
        return {}

    def policy(self, obs: np.ndarray) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=self.shape).astype(np.float32)

    def state_dict(self) -> dict:
        return {"step": self.step, "actions_rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.step, self.rng.bit_generator.state = int(state["step"]), state["actions_rng"]


def train(run: Run) -> None:
    hparams.check("random_policy", run.settings.task, run.settings.hparams)
    run.train(RandomLearner(run), Cadence(progress_every=run.settings.steps))

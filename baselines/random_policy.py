"""Uniformly random actions: the worked example of adding a baseline, and the floor of a figure.

A baseline is a module in ``baselines/`` with ``train(run)``. It evaluates through
``run.evaluate`` (the shared protocol) on ``run.eval_steps()`` and ends with ``run.finish()``,
which writes eval.csv. It needs no checkpoint because it has no state worth keeping.
``check_hparams(task, hparams, where)`` is optional: the workflow calls it when the DAG is built,
so a bad hyperparameter fails before any job starts.
"""

import numpy as np

from pwm.envs import make
from pwm.run import Run


def check_hparams(task: str, hparams: dict, where: str = "") -> None:
    if hparams:
        prefix = f"{where}: " if where else ""
        raise ValueError(f"{prefix}random_policy takes no hyperparameters, got {sorted(hparams)}")


def train(run: Run) -> None:
    check_hparams(run.settings.task, run.settings.hparams)
    rng = np.random.default_rng(run.settings.seed)
    env = make(run.settings.task, run.settings.seed)
    shape = env.action_space.shape
    env.close()

    def policy(obs: np.ndarray) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)

    while (step := run.next_eval_step()) is not None:
        run.evaluate(policy, step=step)
    run.finish()

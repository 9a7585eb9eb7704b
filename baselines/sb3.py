"""The training driver shared by the stable-baselines3 baselines (SAC, PPO).

SB3 owns the learning loop; this module plugs the harness into it through a callback that
evaluates on the run's schedule with ``pwm.evaluate``, prints progress, and checkpoints the model
(and, for off-policy algorithms, the replay buffer) so that a killed job resumes where it was.
"""
from __future__ import annotations

import io
import time

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from pwm.envs import make
from pwm.run import Run, log

CHECKPOINT_INTERVAL_S = 600.0  # also checkpoint between evaluations at least this often


def _to_bytes(save) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()


class HarnessCallback(BaseCallback):
    """Evaluate, log progress and checkpoint on the run's schedule."""

    def __init__(self, run: Run):
        super().__init__()
        self.run = run
        self.progress_every = max(1, run.settings.steps // 20)
        self._last_checkpoint = time.time()

    def policy(self, obs: np.ndarray) -> np.ndarray:
        action, _ = self.model.predict(obs, deterministic=True)
        return action

    def checkpoint(self) -> None:
        payload = {"model": _to_bytes(self.model.save)}
        if isinstance(self.model, OffPolicyAlgorithm):
            payload["replay_buffer"] = _to_bytes(self.model.save_replay_buffer)
        self.run.save_checkpoint(self.num_timesteps, payload)
        self._last_checkpoint = time.time()

    def evaluate_due(self) -> None:
        due = self.run.next_eval_step()
        evaluated = False
        while due is not None and self.num_timesteps >= due:
            self.run.evaluate(self.policy, step=due)
            due, evaluated = self.run.next_eval_step(), True
        if evaluated or time.time() - self._last_checkpoint > CHECKPOINT_INTERVAL_S:
            self.checkpoint()

    def _on_step(self) -> bool:
        if self.num_timesteps % self.progress_every == 0:
            episodes = self.model.ep_info_buffer
            self.run.progress(self.num_timesteps, episodes[-1]["r"] if episodes else None)
        self.evaluate_due()
        return self.run.next_eval_step() is not None


def train_sb3(run: Run, algo_cls: type[BaseAlgorithm], defaults: dict) -> None:
    s = run.settings
    env = Monitor(make(s.task, s.seed))
    hparams = {**defaults, **s.hparams}
    payload = run.load_checkpoint()
    if payload is None:
        try:
            model = algo_cls("MlpPolicy", env, seed=s.seed, device=s.device, verbose=0, **hparams)
        except TypeError as err:
            raise ValueError(f"bad {s.algo} hyperparameters {sorted(s.hparams)}: {err}") from None
    else:
        model = algo_cls.load(io.BytesIO(payload["model"]), env=env, device=s.device)
        if "replay_buffer" in payload:
            model.load_replay_buffer(io.BytesIO(payload["replay_buffer"]))
        # A fresh, step-dependent seed: the resumed run is reproducible but does not replay
        # the random stream of the first attempt.
        model.set_random_seed(s.seed + model.num_timesteps)
    callback = HarnessCallback(run)
    callback.init_callback(model)
    callback.evaluate_due()  # step 0: the untrained policy
    remaining = s.steps - model.num_timesteps
    if remaining > 0 and run.next_eval_step() is not None:
        log(f"training {s.algo} on {s.task} (seed {s.seed}) for {remaining} steps "
            f"on {s.device} with {s.threads} thread(s); hyperparameters {hparams}")
        model.learn(remaining, callback=callback, reset_num_timesteps=False, progress_bar=False)
    callback.evaluate_due()
    run.finish()

"""Offline pre-training of PWM's single-task world model (``pwm-bench pretrain-single``).

The paper's single-task runs share one pre-trained world model per task across seeds (the
released ``dflex/pretrained`` files); this is that job as its own workflow step. The model is
``single_task_config`` of PWM's hyperparameters (``wm_latent_dim``, ``wm_enc_dim``,
``wm_mlp_dim``), trained with PWM's own loss (``pwm.world_model_training``) at a constant
learning rate ``wm_lr`` on windows of ``horizon + 1`` steps of the offline chunks (a SHAC run's
``rollouts.pt``), with ``rew_rms`` fitted to the offline rewards first, as the reference does.

Files in ``out_dir``: ``world_model.pt`` (the output: ``{"model", "rew_rms", "step"}``, loaded by
``train --algo pwm`` through ``pretrained_world_model``), ``state.pt`` (optimiser, reward
statistics, sampler RNG and step; a killed job resumes from it; an unreadable one is kept as
``state.corrupt.pt``, one past a shorter budget or of other TRAINING_KEYS or data as
``state.stale.pt``, and pre-training starts over), ``losses.csv`` (mean losses per
logging interval). Every file is written atomically; a non-finite loss stops the job with
``DivergedError`` before anything is saved.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from pwm import atomic
from pwm.data.chunks import load_chunks
from pwm.data.sampler import SliceSampler
from pwm.running_stats import RunningMeanStd
from pwm.state_file import StateFileJob
from pwm.training_loop import Cadence, Learner, log
from pwm.world_model import WorldModel
from pwm.world_model_training import WorldModelTrainer, check_reward_units, single_task_config

WORLD_MODEL_FILE = "world_model.pt"
ARCHITECTURE_KEYS = ("wm_latent_dim", "wm_enc_dim", "wm_mlp_dim", "wm_latent_norm", "horizon", "wm_batch_size")
# What else changes the trained model (with the data): a state.pt written with other values is set
# aside and pre-training starts over (states written before this was recorded are not checked).
TRAINING_KEYS = ("wm_lr", "wm_grad_norm", "gamma", "reward_clip")


def offline_rewards(chunks) -> torch.Tensor:
    """Every real reward of the chunks (dummy first steps and padding left out), as ``[n, 1]``."""
    parts = []
    for c in chunks:
        r = c["reward"][:, 1:]
        keep = torch.isfinite(r)
        if "valid" in c.keys():
            keep &= c["valid"][:, 1:].bool()
        parts.append(r[keep])
    return torch.cat(parts).unsqueeze(-1)


def task_dims(task: str) -> tuple[int, int]:
    from pwm.envs.batched import make_batched_env

    env = make_batched_env(task, 1, seed=0)
    try:
        return env.obs_dim, env.act_dim
    finally:
        env.close()


def cpu_state(module: torch.nn.Module) -> dict:
    """``module.state_dict()`` with tensors copied to the CPU (non-tensor extra state kept)."""
    return {k: v.detach().cpu() if torch.is_tensor(v) else v for k, v in module.state_dict().items()}


def save_world_model(path, wm: WorldModel, rew_rms: RunningMeanStd, step: int, reward_units: str = "rms") -> None:
    """``latent_norm`` is recorded because shapes cannot tell ``simnorm`` from ``layernorm``."""
    atomic.torch_save(
        path,
        {
            "model": cpu_state(wm),
            "rew_rms": cpu_state(rew_rms),
            "step": step,
            "reward_units": reward_units,
            "latent_norm": wm.cfg.latent_norm,
        },
    )


def load_world_model(path, device="cpu") -> tuple[WorldModel, RunningMeanStd, str]:
    """A ``world_model.pt`` (this module's or a finished PWM run's): tensors only, never code.
    Returns the model, its reward statistics and the reward units it was trained in (files written
    before ``reward_units`` existed are ``rms``; before ``latent_norm``, ``simnorm``)."""
    from pwm.checkpoint import CheckpointError, load_tdmpc2
    from pwm.world_model import LATENT_NORMS

    wm = load_tdmpc2(path, device=device)  # first: it refuses a file that is not plain tensors
    state = torch.load(path, map_location=device, weights_only=True)
    norm = state.get("latent_norm", "simnorm")
    if norm not in LATENT_NORMS:
        raise ValueError(f"{path}: latent_norm {norm!r} is not one of {', '.join(LATENT_NORMS)}")
    if norm != wm.cfg.latent_norm:  # shapes cannot tell simnorm from layernorm: the file's record decides
        try:
            wm = load_tdmpc2(state, device=device, latent_norm=norm)
        except CheckpointError as err:
            raise CheckpointError(f"{path}: {err}") from None
    if "rew_rms" not in state:
        raise ValueError(f"{path}: not a single-task PWM world model (no 'rew_rms' entry)")
    rew_rms = RunningMeanStd((1,)).to(device)
    rew_rms.load_state_dict(state["rew_rms"])
    try:
        units = check_reward_units(state.get("reward_units", "rms"))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    return wm, rew_rms, units


class SingleTaskPretrainer(Learner):
    """One world-model step per training step, in a :class:`StateFileJob` (``state.pt``)."""

    checked = ("wm_loss", "dynamics_loss", "reward_loss")

    def __init__(self, task: str, data: list[str], job: StateFileJob, cfg, steps: int, seed: int, device: str):
        chunks = [c for d in data for c in load_chunks(d)]
        obs_dim, act_dim = task_dims(task)
        for c in chunks:
            if c["obs"].shape[-1] != obs_dim or c["action"].shape[-1] != act_dim:
                raise ValueError(
                    f"offline data for {task} has obs {c['obs'].shape[-1]} / action {c['action'].shape[-1]} "
                    f"dims; {task} has obs {obs_dim} / action {act_dim}. Is it another task's data?"
                )
        self.dir, self.budget = job.dir, steps
        horizon, batch = int(cfg.horizon), int(cfg.wm_batch_size)
        self.sampler = SliceSampler(chunks, horizon, batch, device=device, seed=seed)
        self.wm = WorldModel(single_task_config(obs_dim, act_dim, cfg)).to(device)
        rewards = offline_rewards(chunks)
        self.rew_rms = RunningMeanStd((1,)).to(device)
        self.rew_rms.update(rewards.to(device))
        self.trainer = WorldModelTrainer.from_config(self.wm, self.rew_rms, cfg, str(cfg.reward_units))
        self.history: list[dict] = []
        self.description = (
            f"[pretrain-single] {task}: world model latent {self.wm.cfg.latent_dim} ({self.wm.total_params:,} "
            f"params) on {self.sampler.num_episodes} episode rows ({rewards.numel()} transitions) from "
            f"{', '.join(map(str, data))}; horizon {horizon}, batch {batch}, steps {{}} -> {steps} on {device} "
            f"with {torch.get_num_threads()} thread(s)"
        )

    def done(self) -> bool:
        return self.step >= self.budget

    def train_step(self) -> dict:
        self.step += 1
        return self.trainer.step(self.sampler.sample())

    def progress_line(self, means, rate: float) -> str:
        self.history.append({"step": self.step, **means})
        return (
            f"[pretrain-single] step {self.step}/{self.budget} "
            + " ".join(f"{k}={v:.4g}" for k, v in means.items())
            + f" rate={rate:.1f} it/s eta={(self.budget - self.step) / max(rate, 1e-9) / 60:.1f} min"
        )

    def modules(self) -> dict:
        return {"world_model": self.wm}

    def write_outputs(self, final: bool) -> None:
        atomic.write_csv(self.dir / "losses.csv", pd.DataFrame(self.history))

    def state_dict(self) -> dict:
        return {
            "model": cpu_state(self.wm),
            "rew_rms": self.rew_rms.state_dict(),
            "trainer": self.trainer.state_dict(),
            "sampler_rng": self.sampler.generator.get_state(),
            "history": self.history,
        }

    def load_state_dict(self, state: dict) -> None:
        self.wm.load_state_dict(state["model"])
        self.rew_rms.load_state_dict(state["rew_rms"])
        self.trainer.load_state_dict(state["trainer"])
        self.sampler.generator.set_state(state["sampler_rng"])
        self.step, self.history = int(state["step"]), list(state["history"])

    def finish(self) -> None:
        final = self.dir / WORLD_MODEL_FILE
        save_world_model(final, self.wm, self.rew_rms, self.step, self.trainer.reward_units)
        log(f"[pretrain-single] done at step {self.step} -> {final}")


def pretrain_single(
    task: str,
    data: list[str],
    out_dir: str,
    cfg,
    steps: int,
    seed: int = 1,
    checkpoint_every: int = 5000,
    log_every: int | None = None,
    device: str = "cpu",
    threads: int = 1,
) -> Path:
    """Pre-train the single-task world model of ``task`` on ``data`` (chunk files or directories)."""
    job = StateFileJob(
        out_dir,
        prefix="[pretrain-single]",
        name="pre-training",
        title="world-model pre-training",
        steps=steps,
        seed=seed,
        threads=threads,
        identity={k: cfg[k] for k in ARCHITECTURE_KEYS} | {"task": task, "seed": seed},
        result={k: float(cfg[k]) for k in TRAINING_KEYS}
        | {"data": [str(d) for d in data], "reward_units": str(cfg.reward_units)},
        state_keys=("model", "rew_rms", "trainer", "sampler_rng", "history"),
        advice="Lower wm_lr or check the data.",
        device=device,
    )
    learner = SingleTaskPretrainer(task, data, job, cfg, steps, seed, device)
    job.train(learner, Cadence(progress_every=log_every or max(1, steps // 50), checkpoint_every=checkpoint_every))
    return job.dir / WORLD_MODEL_FILE

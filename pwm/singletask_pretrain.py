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

import time
from pathlib import Path

import pandas as pd
import torch

from pwm import atomic
from pwm.data.chunks import load_chunks
from pwm.data.sampler import SliceSampler
from pwm.resumable import read_or_set_aside, set_aside_changed, set_aside_past_budget
from pwm.run import DivergedError, log, nonfinite_loss_reason, nonfinite_weights_reason
from pwm.running_stats import RunningMeanStd
from pwm.world_model import WorldModel
from pwm.world_model_training import WorldModelTrainer, check_reward_units, single_task_config

WORLD_MODEL_FILE = "world_model.pt"
ARCHITECTURE_KEYS = ("wm_latent_dim", "wm_enc_dim", "wm_mlp_dim", "horizon", "wm_batch_size")
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
    from pwm.envs.diff import DiffEnv

    env = DiffEnv(task, 1, seed=0)
    try:
        return env.obs_dim, env.act_dim
    finally:
        env.close()


def cpu_state(module: torch.nn.Module) -> dict:
    """``module.state_dict()`` with tensors copied to the CPU (non-tensor extra state kept)."""
    return {k: v.detach().cpu() if torch.is_tensor(v) else v for k, v in module.state_dict().items()}


def save_world_model(path, wm: WorldModel, rew_rms: RunningMeanStd, step: int, reward_units: str = "rms") -> None:
    atomic.torch_save(
        path, {"model": cpu_state(wm), "rew_rms": cpu_state(rew_rms), "step": step, "reward_units": reward_units}
    )


def load_world_model(path, device="cpu") -> tuple[WorldModel, RunningMeanStd, str]:
    """A ``world_model.pt`` (this module's or a finished PWM run's): tensors only, never code.
    Returns the model, its reward statistics and the reward units it was trained in (files written
    before ``reward_units`` existed are ``rms``)."""
    from pwm.checkpoint import load_tdmpc2

    wm = load_tdmpc2(path, device=device)
    state = torch.load(path, map_location=device, weights_only=True)
    if "rew_rms" not in state:
        raise ValueError(f"{path}: not a single-task PWM world model (no 'rew_rms' entry)")
    rew_rms = RunningMeanStd((1,)).to(device)
    rew_rms.load_state_dict(state["rew_rms"])
    try:
        units = check_reward_units(state.get("reward_units", "rms"))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    return wm, rew_rms, units


def slog(message: str) -> None:
    log(f"[pretrain-single] {message}")


STATE_KEYS = ("settings", "step", "model", "rew_rms", "trainer", "sampler_rng", "torch_rng", "history")


def read_state(path: Path, device="cpu") -> dict | None:
    """``state.pt`` as data, or None (start over) after setting an unreadable one aside."""
    state = read_or_set_aside(path, "pretraining state", slog, job="pre-training", map_location=device)
    if state is not None and any(k not in state for k in STATE_KEYS):
        raise ValueError(
            f"{path}: not a pwm-bench single-task pretraining state (expected a dict with "
            f"{', '.join(STATE_KEYS)}); delete it to start over"
        )
    return state


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
    out = Path(out_dir)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    chunks = [c for d in data for c in load_chunks(d)]
    obs_dim, act_dim = task_dims(task)
    for c in chunks:
        if c["obs"].shape[-1] != obs_dim or c["action"].shape[-1] != act_dim:
            raise ValueError(
                f"offline data for {task} has obs {c['obs'].shape[-1]} / action {c['action'].shape[-1]} "
                f"dims; {task} has obs {obs_dim} / action {act_dim}. Is it another task's data?"
            )
    horizon, batch = int(cfg.horizon), int(cfg.wm_batch_size)
    sampler = SliceSampler(chunks, horizon, batch, device=device, seed=seed)
    wm = WorldModel(single_task_config(obs_dim, act_dim, cfg)).to(device)
    rewards = offline_rewards(chunks)
    rew_rms = RunningMeanStd((1,)).to(device)
    rew_rms.update(rewards.to(device))
    trainer = WorldModelTrainer.from_config(wm, rew_rms, cfg, str(cfg.reward_units))
    settings = {k: cfg[k] for k in ARCHITECTURE_KEYS} | {"task": task, "seed": seed}
    training = {k: float(cfg[k]) for k in TRAINING_KEYS} | {
        "data": [str(d) for d in data],
        "reward_units": str(cfg.reward_units),
    }
    step, history, saved = 0, [], None
    state_path = out / "state.pt"
    for tmp in atomic.remove_stale_temps(out):
        slog(f"removed {tmp}, a temporary file an earlier, killed attempt left behind")
    # Tensors and plain data only (a planted pickle raises UntrustedFileError naming the file); an
    # unreadable state.pt is set aside as state.corrupt.pt and pre-training starts over.
    state = read_state(state_path, device) if state_path.exists() else None
    if state is not None and state["settings"] != settings:
        raise ValueError(
            f"{state_path} was written with {state['settings']}, not {settings}; "
            "delete the directory or use another one"
        )
    if state is not None and (
        set_aside_changed(state_path, state.get("training", {}), training, slog, "pre-training")
        or set_aside_past_budget(state_path, int(state["step"]), steps, slog, "pre-training")
    ):
        state = None
    if state is not None:
        wm.load_state_dict(state["model"])
        rew_rms.load_state_dict(state["rew_rms"])
        trainer.load_state_dict(state["trainer"])
        sampler.generator.set_state(state["sampler_rng"])
        torch.set_rng_state(state["torch_rng"])
        step, history, saved = int(state["step"]), list(state["history"]), int(state["step"])
        log(f"[pretrain-single] resuming from {state_path} at step {step}")

    def diverged(reason: str) -> DivergedError:
        kept = f"{state_path} (step {saved}) is kept and resumes" if saved is not None else "nothing was saved yet"
        return DivergedError(
            f"world-model pre-training in {out} diverged at step {step}: {reason}; {kept}. "
            "Lower wm_lr or check the data."
        )

    def save() -> None:
        nonlocal saved
        reason = nonfinite_weights_reason(world_model=wm)
        if reason:
            raise diverged(reason)
        atomic.torch_save(
            state_path,
            {
                "settings": settings,
                "training": training,
                "step": step,
                "model": cpu_state(wm),
                "rew_rms": rew_rms.state_dict(),
                "trainer": trainer.state_dict(),
                "sampler_rng": sampler.generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "history": history,
            },
        )
        atomic.write_csv(out / "losses.csv", pd.DataFrame(history))
        saved = step

    log_every = log_every or max(1, steps // 50)
    log(
        f"[pretrain-single] {task}: world model latent {wm.cfg.latent_dim} ({wm.total_params:,} params) on "
        f"{sampler.num_episodes} episode rows ({rewards.numel()} transitions) from "
        f"{', '.join(map(str, data))}; horizon {horizon}, batch {batch}, steps {step} -> {steps} on {device} "
        f"with {threads} thread(s)"
    )
    sums, count, t0, step0 = {}, 0, time.time(), step
    while step < steps:
        info = trainer.step(sampler.sample())
        step += 1
        reason = nonfinite_loss_reason({k: info[k] for k in ("wm_loss", "dynamics_loss", "reward_loss")})
        if reason:
            raise diverged(reason)
        for k, v in info.items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        if step % log_every == 0 or step == steps:
            means = {k: v / count for k, v in sums.items()}
            rate = (step - step0) / max(time.time() - t0, 1e-9)
            history.append({"step": step, **means})
            log(
                f"[pretrain-single] step {step}/{steps} "
                + " ".join(f"{k}={v:.4g}" for k, v in means.items())
                + f" rate={rate:.1f} it/s eta={(steps - step) / max(rate, 1e-9) / 60:.1f} min"
            )
            sums, count = {}, 0
        if step % checkpoint_every == 0 or step == steps:
            save()
    if saved != step:
        save()
    final = out / WORLD_MODEL_FILE
    save_world_model(final, wm, rew_rms, step, trainer.reward_units)
    log(f"[pretrain-single] done at step {step} -> {final}")
    return final

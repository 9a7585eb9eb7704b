"""Offline multitask world-model training on TD-MPC2 dataset chunks (``pwm-bench pretrain``).

This is how PWM's multitask world models are made (docs/reference-notes.md §1.2): TD-MPC2's full loss
(consistency, two-hot reward and value, policy prior) on the offline data, with a long horizon and
a flat loss weighting (horizon 16, rho 0.99) instead of TD-MPC2's online 3 / 0.5, and no planning.
Batches are windows of ``horizon+1`` steps inside episode rows (``pwm.data.sampler.SliceSampler``).

Files in ``out_dir``:
- ``checkpoints/step_{N}.pt``: the world model in TD-MPC2's own format, every ``checkpoint_every``
  steps (written atomically); ``model.pt``: the final one (the job's output).
- ``state.pt``: optimisers, Q scale, sampler and RNG states and the step, so a killed job resumes
  (an unreadable one is kept as ``state.corrupt.pt``, one past a shorter budget or of other
  RESULT_SETTINGS as ``state.stale.pt``, and pretraining starts over: pwm.resumable).
- ``losses.csv``: the mean losses of each logging interval.

A non-finite loss or gradient norm stops the job with ``DivergedError`` (naming the step and the
last good checkpoint) before anything is saved, so ``state.pt`` keeps pointing at finite weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch

from pwm import atomic
from pwm.checkpoint import load_tdmpc2, save_tdmpc2
from pwm.data.chunks import load_chunks
from pwm.data.sampler import SliceSampler
from pwm.envs.suites import TASK_SETS
from pwm.planning import discount_heuristic
from pwm.state_file import StateFileJob
from pwm.training_loop import Cadence, Learner, log
from pwm.world_model import WorldModel, WorldModelConfig


@dataclass
class PretrainSettings:
    data_dirs: list[str]
    out_dir: str
    task_set: str = "mt30"  # defines task ids, padded dims, action masks and discounts
    tasks: list[int] | None = None  # train only on these task ids (default: all in the data)
    model_size: int = 5
    horizon: int = 16
    rho: float = 0.99
    batch_size: int = 256
    steps: int = 100_000
    checkpoint_every: int = 10_000
    log_every: int = 100
    seed: int = 1
    device: str = "cpu"
    threads: int = 1
    hparams: dict = field(default_factory=dict)  # any other key of pwm/configs/tdmpc2.yaml
    init_checkpoint: str | None = None  # start from these weights (TD-MPC2 format)


# Settings besides the architecture that change the trained model: a state.pt written with others
# is set aside and pretraining starts over (the architecture's must match: use another out_dir).
# steps, checkpoint_every, log_every, out_dir, device and threads may change between attempts.
RESULT_SETTINGS = ("data_dirs", "tasks", "seed", "hparams", "init_checkpoint")


def task_discounts(task_set: str, denom=5.0, low=0.95, high=0.995) -> torch.Tensor:
    """Per-task discounts from each task's episode length (DMC 500 -> 0.99, Meta-World 100 -> 0.95)."""
    from pwm.envs import get_spec

    lengths = [get_spec(name).episode_length for name, _, _ in TASK_SETS[task_set]]
    return discount_heuristic(torch.tensor(lengths), denom, low, high)


def build_model(s: PretrainSettings, obs_dim: int, action_dim: int) -> WorldModel:
    table = TASK_SETS[s.task_set]
    cfg = WorldModelConfig.for_model_size(
        s.model_size, obs_dim, action_dim, task_set=s.task_set, action_dims=tuple(a for _, _, a in table)
    )
    if s.init_checkpoint:
        return load_tdmpc2(s.init_checkpoint, cfg=cfg)
    return WorldModel(cfg)


ARCHITECTURE = ("task_set", "model_size", "horizon", "rho", "batch_size")


class Pretrainer(Learner):
    """One TD-MPC2 update per training step, in a :class:`StateFileJob` (``state.pt``)."""

    def __init__(self, s: PretrainSettings):
        from pwm.tdmpc2_agent import TDMPC2Agent, load_hparams

        self.s, self.dir = s, Path(s.out_dir)
        self.job = StateFileJob(
            s.out_dir,
            prefix="[pretrain]",
            name="pretraining",
            title="pretraining",
            steps=s.steps,
            seed=s.seed,
            threads=s.threads,
            identity={k: getattr(s, k) for k in ARCHITECTURE},
            result={k: getattr(s, k) for k in RESULT_SETTINGS},
            stored_settings=asdict(s),
            state_keys=("agent", "sampler_rng", "history"),
            kept=lambda step: (
                f"the last good checkpoint (step {step}) is kept at {self.checkpoint_path(step)} and "
                f"{self.job.state_path} resumes from it"
            ),
        )
        self.cfg = load_hparams(
            {
                **s.hparams,
                "horizon": s.horizon,
                "rho": s.rho,
                "batch_size": s.batch_size,
                "model_size": s.model_size,
                "mpc": False,
            }
        )
        num_tasks = len(TASK_SETS[s.task_set])
        chunks = [c for d in s.data_dirs for c in load_chunks(d, num_tasks=num_tasks)]
        obs_dim, action_dim = chunks[0]["obs"].shape[-1], chunks[0]["action"].shape[-1]
        if any(c["obs"].shape[-1] != obs_dim or c["action"].shape[-1] != action_dim for c in chunks):
            raise ValueError("dataset chunks have different obs/action dims; build them for one suite")
        self.sampler = SliceSampler(chunks, s.horizon, s.batch_size, tasks=s.tasks, device=s.device, seed=s.seed)
        model = build_model(s, obs_dim, action_dim)
        d = self.cfg
        self.agent = TDMPC2Agent(
            model, d, task_discounts(s.task_set, d.discount_denom, d.discount_min, d.discount_max), device=s.device
        )
        self.history: list[dict] = []

    def checkpoint_path(self, step: int) -> Path:
        return self.dir / "checkpoints" / f"step_{step}.pt"

    # ---- the learner -------------------------------------------------------------------------
    def start_line(self) -> str:
        s = self.s
        return (
            f"[pretrain] {s.task_set} model_size {s.model_size} ({self.agent.model.total_params:,} params), "
            f"{self.sampler.num_episodes} episode rows, horizon {s.horizon}, rho {s.rho}, batch {s.batch_size}, "
            f"steps {self.step} -> {s.steps} on {s.device} with {s.threads} thread(s)"
        )

    def done(self) -> bool:
        return self.step >= self.s.steps

    def train_step(self) -> dict:
        self.step += 1
        return self.agent.update(self.sampler.sample())

    def progress_line(self, means, rate: float) -> str:
        self.history.append({"step": self.step, **means})
        return (
            f"[pretrain] step {self.step}/{self.s.steps} "
            + " ".join(f"{k}={means[k]:.4g}" for k in ("consistency", "reward", "value", "pi_loss", "total"))
            + f" rate={rate:.2f} it/s"
        )

    def modules(self) -> dict:
        return {"model": self.agent.model}

    def write_outputs(self, final: bool) -> None:
        """The model of this step in TD-MPC2's format (first: state.pt points at it) and losses.csv."""
        save_tdmpc2(self.agent.model, self.checkpoint_path(self.step))
        atomic.write_csv(self.dir / "losses.csv", pd.DataFrame(self.history))

    def state_dict(self) -> dict:
        return {
            "agent": self.agent.state_dict(),
            "sampler_rng": self.sampler.generator.get_state(),
            "history": self.history,
        }

    def load_state_dict(self, state: dict) -> None:
        model = load_tdmpc2(self.checkpoint_path(state["step"]), cfg=self.agent.model.cfg)
        self.agent.model.load_state_dict(model.state_dict(), strict=True)
        self.agent.load_state_dict(state["agent"])
        self.sampler.generator.set_state(state["sampler_rng"])
        self.step, self.history = int(state["step"]), list(state["history"])

    def finish(self) -> None:
        save_tdmpc2(self.agent.model, self.dir / "model.pt")
        log(f"[pretrain] done at step {self.step} -> {self.dir / 'model.pt'}")

    def train(self) -> Path:
        self.job.train(self, Cadence(progress_every=self.s.log_every, checkpoint_every=self.s.checkpoint_every))
        return self.dir / "model.pt"


def pretrain(settings: PretrainSettings) -> Path:
    return Pretrainer(settings).train()

"""One training run: its settings, its directory, its evaluation log, checkpoint and progress.

Every algorithm trains through a ``Run`` so that all of them produce the same files
(``eval.csv``, ``progress.csv``, ``checkpoint.pt``, ``config.yaml``), evaluate on the same schedule
with the same protocol, and resume the same way. A run is the :class:`~pwm.training_loop.Job` of
the one training loop: an algorithm gives ``run.train`` a learner (its training step, evaluation
policy and state) and the loop (:mod:`pwm.training_loop`) does the rest.

Files in ``out_dir``:
- ``eval.csv``: the final evaluation table, written once, atomically, when the run completes.
  Snakemake treats it as the run's output, so its presence means "done".
- ``progress.csv``: the evaluations so far, rewritten atomically after each one (for watching).
- ``checkpoint.pt``: the latest resumable state, including the evaluation rows so far.
- ``dataset/chunk_0.pt``: the replay buffer as a TD-MPC2 dataset chunk, for algorithms that
  export one (:meth:`Run.export_dataset`; TD-MPC2, SAC).
- ``config.yaml``: the resolved run settings.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
import yaml

from pwm import atomic, rng
from pwm.envs import get_spec
from pwm.evaluate import Policy, evaluate
from pwm.manifest import Manifest
from pwm.resumable import read_or_set_aside, set_aside
from pwm.schema import EVAL_COLUMNS
from pwm.training_loop import DivergedError, Job, Learner, log

__all__ = ["DivergedError", "Run", "RunSettings", "log"]

if TYPE_CHECKING:
    from pwm.data.replay import EpisodeReplay

CHECKPOINT_FORMAT = "pwm-bench-run/1"
EVAL_SEED_OFFSET = 1_000_000  # evaluation episodes never share seeds with training episodes


# Settings that change a run's result: a checkpoint is resumed only if they all match. A larger
# `steps` continues a run (train longer); out_dir, device and threads may change between a kill
# and its rerun.
RESULT_SETTINGS = ("eval_every", "eval_episodes", "hparams")


@dataclass
class RunSettings:
    algo: str
    task: str
    seed: int
    out_dir: str
    steps: int  # training budget in agent (environment) steps
    eval_every: int
    eval_episodes: int = 10
    device: str = "cpu"
    threads: int = 1
    hparams: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for key in ("seed", "steps", "eval_every", "eval_episodes", "threads"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{key} must be an integer, got {value!r}")
        for key in ("steps", "eval_every", "eval_episodes", "threads"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {self.device!r}")
        get_spec(self.task)  # raises with close matches for an unknown task


def resolved_hparams(settings: RunSettings) -> dict | None:
    """The run's hyperparameters with its algorithm's documented defaults (``pwm.hparams``), for the
    manifest; None for an algorithm without a defaults file known to pwm.hparams (e.g. a test's)."""
    from pwm import hparams

    try:
        return hparams.resolve(settings.algo, settings.task, settings.hparams)
    except (ValueError, KeyError):
        return None


class Run(Job):
    """A training run's files and schedule; :meth:`Job.train` runs a learner in it."""

    def __init__(self, settings: RunSettings):
        self.settings = settings
        self.dir = Path(settings.out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.spec = get_spec(settings.task)
        self.rows: list[dict] = []
        self.checkpoint_step: int | None = None  # step of the checkpoint on disk (None: none yet)
        self.elapsed_before = 0.0  # wall time spent in earlier (killed) attempts
        self._start = time.time()
        self._last_progress = (time.time(), 0)
        torch.set_num_threads(settings.threads)
        rng.seed_all(settings.seed)  # before any learner is built: its initial weights come from these
        if settings.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"device {settings.device!r} requested but CUDA is not available on this machine "
                f"(torch {torch.__version__}); run with --device cpu (config: device: cpu) or on a GPU node"
            )
        for tmp in atomic.remove_stale_temps(self.dir) + atomic.remove_stale_temps(self.dir / "dataset"):
            log(f"removed {tmp}, a temporary file an earlier, killed attempt left behind")
        atomic.write_text(self.dir / "config.yaml", yaml.safe_dump(asdict(settings), sort_keys=False))
        self.manifest = Manifest(self.dir, {k: getattr(settings, k) for k in ("algo", "task", "seed")})
        self.manifest.start(
            asdict(settings),
            settings.hparams,
            {"run": settings.seed, "evaluation": settings.seed + EVAL_SEED_OFFSET},
            resolved_hparams(settings),
        )

    # ---- paths -------------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.dir / "checkpoint.pt"

    @property
    def eval_path(self) -> Path:
        return self.dir / "eval.csv"

    # ---- schedule ----------------------------------------------------------------------------
    def eval_steps(self) -> list[int]:
        """0 (the untrained policy), every ``eval_every`` steps, and the final step."""
        s = self.settings
        return sorted(set(range(0, s.steps, s.eval_every)) | {s.steps})

    def next_eval_step(self) -> int | None:
        done = {r["step"] for r in self.rows}
        return next((t for t in self.eval_steps() if t not in done), None)

    def wall_time(self) -> float:
        return self.elapsed_before + time.time() - self._start

    # ---- evaluation and progress ---------------------------------------------------------------
    def evaluate(self, policy: Policy, step: int, env_steps: int | None = None) -> dict:
        s = self.settings
        result = evaluate(policy, s.task, episodes=s.eval_episodes, seed=s.seed + EVAL_SEED_OFFSET)
        row = dict(
            algo=s.algo,
            task=s.task,
            seed=s.seed,
            step=int(step),
            env_steps=int(step if env_steps is None else env_steps),
            wall_time_s=round(self.wall_time(), 3),
            episode_reward=result.episode_reward,
            episode_success=result.episode_success,
        )
        self.rows.append(row)
        atomic.write_csv(self.dir / "progress.csv", pd.DataFrame(self.rows, columns=EVAL_COLUMNS))
        log(
            f"[eval] step {step}/{s.steps} episode_reward={result.episode_reward:.1f} "
            f"episode_success={result.episode_success:.2f} (over {s.eval_episodes} episodes)"
        )
        return row

    def evaluate_due(self, learner: Learner, final: bool = False) -> bool:
        """Evaluate ``learner.policy`` at every scheduled step it has reached (every remaining one if
        ``final``: the budget is spent); True if any evaluation ran."""
        evaluated = False
        while (due := self.next_eval_step()) is not None and (due <= learner.step or final):
            self.evaluate(learner.policy, step=due, env_steps=learner.env_steps)
            evaluated = True
        return evaluated

    def pending(self) -> bool:
        return self.next_eval_step() is not None

    def progress(self, step: int, train_return: float | None = None) -> None:
        now = time.time()
        t0, s0 = self._last_progress
        rate = (step - s0) / max(now - t0, 1e-9)
        self._last_progress = (now, step)
        remaining = self.settings.steps - step
        eta = remaining / rate if rate > 0 else float("nan")
        ret = "n/a" if train_return is None or not np.isfinite(train_return) else f"{train_return:.1f}"
        log(
            f"[progress] step {step}/{self.settings.steps} ({100 * step / self.settings.steps:.0f}%) "
            f"train_return={ret} rate={rate:.1f} steps/s eta={eta / 60:.1f} min"
        )

    # ---- checkpoints ---------------------------------------------------------------------------
    def save_checkpoint(self, step: int, payload: dict) -> None:
        atomic.torch_save(
            self.checkpoint_path,
            {
                "format": CHECKPOINT_FORMAT,
                "settings": asdict(self.settings),
                "step": int(step),
                "eval_rows": self.rows,
                "wall_time_s": self.wall_time(),
                "payload": payload,
            },
        )
        self.checkpoint_step = int(step)
        self.manifest.update_attempt()

    def set_aside(self, kind: str) -> Path:
        """Rename checkpoint.pt to ``checkpoint.<kind>.pt`` (``.<kind>.1.pt``, ... if taken: never overwrite
        an earlier one) and return the new path."""
        return set_aside(self.checkpoint_path, kind)

    def load_checkpoint(self) -> dict | None:
        """The payload of the last checkpoint (and restore eval rows), or None to start fresh."""
        if not self.checkpoint_path.exists():
            return None
        # As data only (no code runs); a corrupt one is set aside as checkpoint.corrupt.pt.
        ckpt = read_or_set_aside(self.checkpoint_path, "run checkpoint", log, job="the run")
        if ckpt is None:
            return None
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(
                f"{self.checkpoint_path}: not a pwm-bench run checkpoint "
                f"(format {ckpt.get('format')!r}, expected {CHECKPOINT_FORMAT!r})"
            )
        old = {k: ckpt["settings"][k] for k in ("algo", "task", "seed")}
        new = {k: getattr(self.settings, k) for k in ("algo", "task", "seed")}
        if old != new:
            raise ValueError(
                f"{self.checkpoint_path} belongs to run {old}, not {new}; delete it or choose another output directory"
            )
        changed = [k for k in RESULT_SETTINGS if ckpt["settings"].get(k) != getattr(self.settings, k)]
        if changed:
            # The same run with other hyperparameters or another evaluation schedule (e.g. Snakemake
            # reruns a job after a config change): continuing would mix two settings in one result.
            stale = self.set_aside("stale")
            log(
                "not resuming: the checkpoint was written with other settings ("
                + "; ".join(f"{k}: {ckpt['settings'].get(k)!r} -> {getattr(self.settings, k)!r}" for k in changed)
                + f"); it is kept as {stale} and the run starts from step 0"
            )
            return None
        if int(ckpt["step"]) > self.settings.steps:
            # A shorter budget: the run has trained past it, and no state of step `steps` is kept.
            # Starting over is the only way to get what a fresh run of this budget gives.
            stale = self.set_aside("stale")
            log(
                f"not resuming: the checkpoint is at step {ckpt['step']}, past the budget steps={self.settings.steps} "
                f"(it was written with steps={ckpt['settings'].get('steps')}); it is kept as {stale} and the run "
                "starts from step 0"
            )
            return None
        schedule = set(self.eval_steps())
        rows = list(ckpt["eval_rows"])
        self.rows = [r for r in rows if r["step"] in schedule]
        if len(self.rows) != len(rows):  # a larger budget: the old final evaluation is off the new schedule
            log(
                f"dropping the evaluations at steps {[r['step'] for r in rows if r['step'] not in schedule]}: "
                f"not on the schedule of steps={self.settings.steps}"
            )
        self.checkpoint_step = int(ckpt["step"])
        self.elapsed_before = float(ckpt["wall_time_s"])
        log(f"resuming from {self.checkpoint_path} at step {ckpt['step']} ({len(self.rows)} evaluations already done)")
        return ckpt["payload"]

    # ---- divergence ------------------------------------------------------------------------------
    def diverged(self, step: int, reason: str) -> DivergedError:
        """The error a diverged run stops with: which run, when, why, and which checkpoint survives.

        Raise it *before* the next ``save_checkpoint``, so the checkpoint on disk keeps finite weights."""
        s = self.settings
        kept = (
            f"the last good checkpoint (step {self.checkpoint_step}) is kept at {self.checkpoint_path}"
            if self.checkpoint_step is not None
            else "no checkpoint had been written yet"
        )
        return DivergedError(
            f"{s.algo} diverged on {s.task} (seed {s.seed}) at step {step}: {reason}; {kept}. "
            "Lower the learning rate or check the rewards."
        )

    # ---- outputs -------------------------------------------------------------------------------
    def export_dataset(self, replay: EpisodeReplay) -> Path:
        """Write a replay buffer as ``<run>/dataset/chunk_0.pt``, a TD-MPC2 dataset chunk (task id 0;
        ``pwm-bench build-dataset`` relabels it with the suite's id)."""
        from pwm.data.chunks import save_chunk  # here: tensordict adds ~1 s to every run's start-up

        path = self.dir / "dataset" / "chunk_0.pt"
        chunk = replay.to_chunk()
        save_chunk(chunk, path)
        log(f"exported {chunk.batch_size[0]} episodes ({replay.num_transitions} transitions) -> {path}")
        return path

    def finish(self) -> Path:
        frame = pd.DataFrame(self.rows, columns=EVAL_COLUMNS).sort_values("step")
        last = frame.iloc[-1]
        self.manifest.finish(self.wall_time(), int(last["step"]), int(last["env_steps"]), self.settings.device)
        atomic.write_csv(self.eval_path, frame)  # last: its presence means "done"
        log(
            f"done: {len(frame)} evaluations, final episode_reward="
            f"{frame['episode_reward'].iloc[-1]:.1f}, wall time {self.wall_time() / 60:.1f} min "
            f"-> {self.eval_path}"
        )
        sys.stdout.flush()
        return self.eval_path

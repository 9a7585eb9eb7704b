"""A pre-training job for the training loop: its resumable state is one ``state.pt``.

World-model pre-training (``pwm.pretrain``, ``pwm.singletask_pretrain``) has no evaluation
schedule and no run identity (task, seed, algorithm) as a :class:`pwm.run.Run` has; it has a
state file beside its outputs. This job keeps that file: written atomically with the settings it
was made with, read back as data only, and set aside instead of resumed when it cannot be used
(unreadable: ``state.corrupt.pt``; other result settings or past a shorter budget:
``state.stale.pt``, see :mod:`pwm.resumable`). Settings that fix the model's shape must match, or
the job stops with an error naming both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from pwm import atomic, rng
from pwm.manifest import Manifest
from pwm.resumable import read_or_set_aside, set_aside_changed, set_aside_past_budget
from pwm.training_loop import DivergedError, Job, log


class StateFileJob(Job):
    def __init__(
        self,
        out_dir: str | Path,
        *,
        prefix: str,
        name: str,
        title: str,
        steps: int,
        seed: int,
        threads: int,
        identity: Mapping[str, Any],
        result: Mapping[str, Any],
        stored_settings: Mapping[str, Any] | None = None,
        state_keys: tuple[str, ...] = (),
        kept: Callable[[int], str] | None = None,
        advice: str = "Lower the learning rate or check the data.",
        device: str = "cpu",
    ):
        """``identity``: settings the state must have been written with (else an error);
        ``result``: settings that change the result (changed: the state is set aside);
        ``stored_settings``: what is saved as the state's ``settings`` (default ``identity``);
        ``prefix``: of its log lines; ``name``: the job in them ("pretraining starts from step 0");
        ``title``: the job in the divergence message; ``kept(step)``: where the last good state of ``step`` is, for the divergence message."""
        self.dir, self.prefix, self.name, self.title, self.steps = Path(out_dir), prefix, name, title, steps
        self.identity, self.result = dict(identity), dict(result)
        self.stored_settings = dict(stored_settings if stored_settings is not None else identity)
        self.state_keys, self.advice, self.device = state_keys, advice, device
        self.kept = kept or (lambda step: f"{self.state_path} (step {step}) is kept and resumes")
        self.dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(threads)
        rng.seed_all(seed)
        for folder in (self.dir, self.dir / "checkpoints"):
            for tmp in atomic.remove_stale_temps(folder):
                self.log(f"removed {tmp}, a temporary file an earlier, killed attempt left behind")
        # The job's manifest.json (pwm.manifest): what made the model and what it cost.
        self.manifest = Manifest(self.dir, {"job": name, "out_dir": str(self.dir)})
        self.manifest.start(
            {**self.stored_settings, "steps": steps, "device": device, "threads": threads},
            {**self.identity, **self.result},
            {"run": seed},
        )

    @property
    def state_path(self) -> Path:
        return self.dir / "state.pt"

    def log(self, message: str) -> None:
        log(f"{self.prefix} {message}")

    def load_checkpoint(self) -> dict | None:
        path = self.state_path
        if not path.exists():
            return None
        # Tensors and plain data only: a planted pickle raises UntrustedFileError naming the file; an
        # unreadable one is set aside as state.corrupt.pt and the job starts over.
        state = read_or_set_aside(path, "pretraining state", self.log, job=self.name, map_location=self.device)
        if state is None:
            return None
        missing = [k for k in ("settings", "step", *self.state_keys) if k not in state]
        if missing:
            raise ValueError(
                f"{path}: not a pwm-bench pretraining state (it lacks {', '.join(missing)}); delete it to start over"
            )
        old = {k: state["settings"].get(k) for k in self.identity}
        if old != self.identity:
            raise ValueError(
                f"{path} was written with {old}, not {self.identity}; delete the directory or use another one"
            )
        written = state.get("training", state["settings"])  # older multitask states kept them in settings
        if set_aside_changed(path, written, self.result, self.log, self.name) or set_aside_past_budget(
            path, int(state["step"]), self.steps, self.log, self.name
        ):
            return None
        self.checkpoint_step = int(state["step"])
        self.log(f"resuming from {path} at step {self.checkpoint_step}")
        return state

    def save_checkpoint(self, step: int, payload: dict) -> None:
        atomic.torch_save(
            self.state_path, {"settings": self.stored_settings, "training": self.result, "step": int(step), **payload}
        )
        self.checkpoint_step = int(step)
        self.manifest.update_attempt()

    def finish(self) -> None:
        step = self.checkpoint_step or 0
        self.manifest.finish(None, step, 0, self.device)

    def diverged(self, step: int, reason: str) -> DivergedError:
        kept = self.kept(self.checkpoint_step) if self.checkpoint_step is not None else "nothing was saved yet"
        return DivergedError(f"{self.title} in {self.dir} diverged at step {step}: {reason}; {kept}. {self.advice}")

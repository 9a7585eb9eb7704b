"""The one training loop: every algorithm and both world-model pre-trainings run in it.

An algorithm supplies a *learner* (:class:`Learner`): one training step that returns its metrics
and advances ``step``, whether its budget is spent (``done``), ``state_dict``/``load_state_dict``,
and, for a run, the evaluation ``policy``. A *job* (:class:`Job`: a :class:`pwm.run.Run`, or a
pre-training's :class:`pwm.state_file.StateFileJob`) says where the state is kept and how
evaluations, progress and errors read. :class:`TrainingLoop` does the rest the same way for all:
resume (with every global random stream), evaluation when due, checkpoint cadence, the divergence
guard that names the kept checkpoint, progress lines, and stopping. Seeding Python, NumPy and
torch happens when a job is created (:func:`pwm.rng.seed_all`), before any learner draws.

A learner SB3 drives (it owns its loop) uses the same pieces from a callback:
:meth:`TrainingLoop.evaluate_due`, :meth:`TrainingLoop.after_step`,
:meth:`TrainingLoop.checkpoint_if_due`.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from pwm import rng


class DivergedError(RuntimeError):
    """Training produced non-finite numbers; the last good checkpoint is kept."""


def log(message: str) -> None:
    """A plain, flushed line: logs are read with `tail -f` while jobs run."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def nonfinite(values: Mapping[str, Any]) -> dict[str, float]:
    """The entries of ``values`` (losses, gradient norms: floats or 0-d tensors) that are NaN or infinite."""
    return {k: float(v) for k, v in values.items() if not math.isfinite(float(v))}


def nonfinite_parameters(**modules: torch.nn.Module) -> list[str]:
    """``module.parameter`` names holding a NaN or infinite value (weights and buffers, e.g. a target Q)."""
    bad = []
    for name, module in modules.items():
        tensors = list(module.named_parameters()) + list(module.named_buffers())
        bad += [f"{name}.{k}" for k, t in tensors if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    return bad


def nonfinite_loss_reason(values: Mapping[str, Any], what: str = "loss") -> str | None:
    """ "non-finite <what> k=v, ..." for the NaN/infinite entries of ``values``, or None if all are finite."""
    bad = nonfinite(values)
    return f"non-finite {what} " + ", ".join(f"{k}={v}" for k, v in bad.items()) if bad else None


def nonfinite_weights_reason(**modules: torch.nn.Module) -> str | None:
    """ "non-finite weights in a, b, c and N more" for the modules' broken tensors, or None."""
    bad = nonfinite_parameters(**modules)
    if not bad:
        return None
    return f"non-finite weights in {', '.join(bad[:3])}" + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")


class Learner:
    """What an algorithm gives the loop: subclasses implement the first four methods and keep
    ``step`` current; the rest have defaults.

    ``step`` counts the budget's unit (environment steps, policy iterations or updates). While
    :meth:`train_step` runs it is the step being trained towards, so that a divergence raised inside
    it is reported at that step."""

    step: int = 0
    env_steps: int | None = None  # an evaluation row's env_steps; None: the scheduled step
    checked: tuple[str, ...] | None = None  # the metrics that must be finite; None: all of them
    train_return: float | None = None  # the recent training return, for progress lines
    description: str | None = None  # the start line, with {} where the step resumed from goes

    def done(self) -> bool:
        """The budget is spent."""
        raise NotImplementedError

    def train_step(self) -> Mapping[str, float]:
        """One unit of training; its metrics (floats). Raises DivergedError or FloatingPointError
        on non-finite numbers it sees itself."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Everything a resumed run needs besides the global random streams (the loop keeps those)."""
        raise NotImplementedError

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError

    def policy(self, obs):
        """The evaluation policy, ``obs -> action`` (runs only)."""
        raise NotImplementedError

    def modules(self) -> dict[str, torch.nn.Module]:
        """The networks whose weights must be finite before a checkpoint replaces a good one."""
        return {}

    def start_line(self) -> str | None:
        """What is about to be trained, logged once the loop has resumed (so it says from where)."""
        return None if self.description is None else self.description.format(self.step)

    def progress_line(self, means: Mapping[str, float], rate: float) -> str | None:
        """The learner's own progress line, from its metrics' means since the last one and its
        steps per second since the loop started (or resumed)."""
        return None

    def write_outputs(self, final: bool) -> None:
        """Files besides the checkpoint, written just before each one (``final``: the budget is spent)."""

    def finish(self) -> None:
        """After the last checkpoint: close environments, write final outputs."""


class Job:
    """Where a learner's state is kept and how its evaluations, progress and errors read."""

    checkpoint_step: int | None = None  # step of the checkpoint on disk (None: none yet)

    def load_checkpoint(self) -> dict | None:
        raise NotImplementedError

    def save_checkpoint(self, step: int, payload: dict) -> None:
        raise NotImplementedError

    def diverged(self, step: int, reason: str) -> DivergedError:
        """The error a diverged job stops with: which job, when, why, and which checkpoint survives."""
        raise NotImplementedError

    def evaluate_due(self, learner: Learner, final: bool) -> bool:
        """Run the evaluations due at ``learner.step`` (all that remain if ``final``); True if any ran."""
        return False

    def pending(self) -> bool:
        """Whether anything is left to do besides spending the budget (a run: an evaluation)."""
        return True

    def progress(self, step: int, train_return: float | None) -> None:
        """The job's progress line."""

    def finish(self) -> Any:
        """After the loop: the job's final outputs."""

    def train(self, learner: Learner, cadence: Cadence) -> Any:
        """Resume ``learner`` if a checkpoint allows, train it to its budget, and finish."""
        return TrainingLoop(self, learner, cadence).run()


@dataclass(frozen=True)
class Cadence:
    progress_every: int  # steps between progress lines
    checkpoint_interval_s: float | None = None  # checkpoint at least this often (seconds)
    checkpoint_every: int | None = None  # and every this many steps

    def __post_init__(self):
        if self.progress_every < 1 or (self.checkpoint_every is not None and self.checkpoint_every < 1):
            raise ValueError(f"progress_every and checkpoint_every must be >= 1, got {self}")


class TrainingLoop:
    def __init__(self, job: Job, learner: Learner, cadence: Cadence):
        self.job, self.learner, self.cadence = job, learner, cadence
        self._last_checkpoint_time = time.time()
        self._checkpoint_wanted = False  # an evaluation ran since the last checkpoint
        self._checkpoint_mark = self._progress_mark = learner.step
        self._sums: dict[str, float] = {}
        self._count = 0
        self._started = (time.time(), learner.step)  # reset by resume

    def resume(self) -> None:
        """Load the job's checkpoint into the learner and the global random streams, if there is one."""
        payload = self.job.load_checkpoint()
        if payload is not None:
            self.learner.load_state_dict(payload)
            if "rng" in payload:
                rng.set_state(payload["rng"])
            elif "torch_rng" in payload:  # written before every stream was kept
                torch.set_rng_state(payload["torch_rng"])
        self._checkpoint_mark = self._progress_mark = self.learner.step
        self._started = (time.time(), self.learner.step)
        # Start-up's objects (imports, the learner, its checkpoint: ~350k for a SHAC run) are moved out
        # of the cyclic collector's reach: its full passes scanned them all again and again, 13 % of a
        # 64-env hopper SHAC actor part in the median, 40 % in the worst iteration (benchmarks/RESULTS.md).
        # They are still freed by reference counting.
        gc.freeze()
        line = self.learner.start_line()
        if line:
            log(line)

    def evaluate_due(self) -> bool:
        evaluated = self.job.evaluate_due(self.learner, final=self.learner.done())
        self._checkpoint_wanted |= evaluated
        return evaluated

    def checkpoint_due(self) -> bool:
        cadence, step = self.cadence, self.learner.step
        every = cadence.checkpoint_every
        return (
            self._checkpoint_wanted
            or (
                cadence.checkpoint_interval_s is not None
                and time.time() - self._last_checkpoint_time > cadence.checkpoint_interval_s
            )
            or (every is not None and step // every > self._checkpoint_mark // every)
            or (self.learner.done() and self.job.checkpoint_step != step)
        )

    def checkpoint(self) -> None:
        """Check the weights (never replace a good checkpoint with broken ones), write the learner's
        other files, then the checkpoint."""
        learner, step = self.learner, self.learner.step
        reason = nonfinite_weights_reason(**learner.modules())
        if reason:
            raise self.job.diverged(step, reason)
        state = learner.state_dict()
        if "rng" in state:
            raise ValueError(
                f"{type(learner).__name__}.state_dict() returned the key 'rng', which the loop keeps the global "
                "random streams under; rename the learner's entry"
            )
        learner.write_outputs(final=learner.done())
        self.job.save_checkpoint(step, {**state, "rng": rng.get_state()})
        self._checkpoint_wanted, self._last_checkpoint_time, self._checkpoint_mark = False, time.time(), step

    def checkpoint_if_due(self) -> None:
        if self.checkpoint_due():
            self.checkpoint()

    def train_step(self) -> None:
        learner = self.learner
        try:
            metrics = learner.train_step()
        except (DivergedError, FloatingPointError) as err:  # the learner's own: it knows nothing of the job
            raise self.job.diverged(learner.step, str(err)) from err
        checked = metrics if learner.checked is None else {k: metrics[k] for k in learner.checked if k in metrics}
        reason = nonfinite_loss_reason(checked)
        if reason:
            raise self.job.diverged(learner.step, reason)
        self.after_step(metrics)

    def after_step(self, metrics: Mapping[str, float]) -> None:
        """Accumulate the step's metrics; print progress lines when a ``progress_every`` boundary is
        crossed or the budget is spent."""
        for k, v in metrics.items():
            self._sums[k] = self._sums.get(k, 0.0) + float(v)
        self._count += 1
        step, every = self.learner.step, self.cadence.progress_every
        if step // every > self._progress_mark // every or self.learner.done():
            means = {k: v / self._count for k, v in self._sums.items()}
            t0, step0 = self._started
            rate = (step - step0) / max(time.time() - t0, 1e-9)
            self.job.progress(step, self.learner.train_return)
            line = self.learner.progress_line(means, rate)
            if line:
                log(line)
            self._sums, self._count, self._progress_mark = {}, 0, step

    def run(self) -> Any:
        self.resume()
        while True:
            self.evaluate_due()
            self.checkpoint_if_due()
            if self.learner.done() or not self.job.pending():
                break
            self.train_step()
        self.learner.finish()
        return self.job.finish()

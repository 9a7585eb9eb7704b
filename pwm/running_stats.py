"""Running mean and variance of a stream of batches (Chan et al.'s parallel update).

PWM divides its actor loss by the running standard deviation of the per-rollout H-step returns
(``ret_rms``, docs/reference-notes.md §2.2) so the actor's step size does not depend on the reward scale of the
task, and normalises single-task rewards by running statistics (``rew_rms``). The reference's
conventions are kept: initial count 1e-4, initial variance 1, epsilon 1e-5 inside the sqrt.
"""

from __future__ import annotations

import torch
from torch import nn


class RunningMeanStd(nn.Module):
    """Mean/variance over everything passed to :meth:`update` (state saved in the state dict)."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4):
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("var", torch.ones(shape, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(float(epsilon), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold in a batch ``x [N, *shape]``; non-finite rows are ignored (a blown-up sample must
        not poison the statistics for the rest of the run)."""
        x = x.detach().to(torch.float64).reshape(-1, *self.mean.shape)
        finite = torch.isfinite(x.reshape(len(x), -1)).all(-1)
        x = x[finite]
        if len(x) == 0:
            return
        batch_mean, batch_var, n = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta = batch_mean - self.mean
        total = self.count + n
        m2 = self.var * self.count + batch_var * n + delta.pow(2) * self.count * n / total
        self.mean.add_(delta * n / total)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def std(self, eps: float = 1e-5) -> torch.Tensor:
        return torch.sqrt(self.var + eps)

    def normalize(self, x: torch.Tensor, clip: float | None = None) -> torch.Tensor:
        """(x - mean) / sqrt(var + 1e-5), optionally clipped to ±clip (PWM clips rewards at 5)."""
        out = (x - self.mean.to(x.dtype)) / self.std().to(x.dtype)
        return out.clamp(-clip, clip) if clip is not None else out

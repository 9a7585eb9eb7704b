"""Numerics shared by the world model and its losses, matching TD-MPC2's definitions.

Rewards and values are regressed as distributions over ``num_bins`` bins spread evenly in
symlog space on [vmin, vmax] ("two-hot" discrete regression); these helpers convert between
scalars and those distributions. ``num_bins`` 0 means plain scalar regression and 1 means a
scalar in symlog space, as in TD-MPC2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# log(sqrt(2*pi)): the per-dimension constant of a unit Gaussian's log-density.
HALF_LOG_TWO_PI = 0.9189385175704956


def symlog(x: torch.Tensor) -> torch.Tensor:
    """sign(x)·ln(1+|x|): compresses large magnitudes so one bin grid covers all reward scales."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


def symexp(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`symlog`."""
    return torch.sign(x) * torch.expm1(torch.abs(x))


def bin_centres(num_bins: int, vmin: float, vmax: float, like: torch.Tensor) -> torch.Tensor:
    return torch.linspace(vmin, vmax, num_bins, device=like.device, dtype=like.dtype)


def two_hot(x: torch.Tensor, num_bins: int = 101, vmin: float = -10.0, vmax: float = 10.0) -> torch.Tensor:
    """Scalars ``[..., 1]`` -> soft two-hot targets ``[..., num_bins]`` in symlog space.

    The mass is split linearly between the two bins around symlog(x); the upper index wraps
    modulo ``num_bins``, which only matters at x == vmax where its weight is zero.
    """
    if num_bins == 0:
        return x
    if num_bins == 1:
        return symlog(x)
    bin_size = (vmax - vmin) / (num_bins - 1)
    pos = (torch.clamp(symlog(x), vmin, vmax) - vmin) / bin_size  # [..., 1]
    lower = torch.floor(pos)
    upper_weight = pos - lower
    lower = lower.long()
    out = torch.zeros(*x.shape[:-1], num_bins, device=x.device, dtype=x.dtype)
    out = out.scatter(-1, lower, 1 - upper_weight)
    return out.scatter(-1, (lower + 1) % num_bins, upper_weight)


def two_hot_inv(
    logits: torch.Tensor, vmin: float = -10.0, vmax: float = 10.0, num_bins: int | None = None
) -> torch.Tensor:
    """Logits ``[..., num_bins]`` -> scalars ``[..., 1]``: expected bin value, then symexp.

    ``num_bins`` defaults to the logits' last dimension; pass 0 explicitly for scalar heads.
    """
    num_bins = logits.shape[-1] if num_bins is None else num_bins
    if num_bins == 0:
        return logits
    if num_bins == 1:
        return symexp(logits)
    probs = F.softmax(logits, dim=-1)
    return symexp(torch.sum(probs * bin_centres(num_bins, vmin, vmax, logits), dim=-1, keepdim=True))


def soft_ce(logits: torch.Tensor, target: torch.Tensor, vmin: float = -10.0, vmax: float = 10.0) -> torch.Tensor:
    """Cross-entropy between predicted logits ``[..., K]`` and two-hot targets of scalars ``[..., 1]``.

    Returns ``[..., 1]`` (TD-MPC2's loss shape)."""
    log_probs = F.log_softmax(logits, dim=-1)
    return -(two_hot(target, logits.shape[-1], vmin, vmax) * log_probs).sum(-1, keepdim=True)


def squash_log_std(raw: torch.Tensor, low: torch.Tensor, dif: torch.Tensor) -> torch.Tensor:
    """Map an unbounded network output into [low, low+dif] with tanh (TD-MPC2's policy std)."""
    return low + 0.5 * dif * (torch.tanh(raw) + 1)


def gaussian_logprob(eps: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Log-density of ``mean + eps·std`` under N(mean, std²), summed over the last dim -> ``[..., 1]``."""
    return (-0.5 * eps.pow(2) - log_std - HALF_LOG_TWO_PI).sum(-1, keepdim=True)


def squash(mean: torch.Tensor, action: torch.Tensor, log_prob: torch.Tensor):
    """tanh-squash mean and action and correct the log-probability for the change of variables."""
    mean, action = torch.tanh(mean), torch.tanh(action)
    log_prob = log_prob - torch.log(F.relu(1 - action.pow(2)) + 1e-6).sum(-1, keepdim=True)
    return mean, action, log_prob

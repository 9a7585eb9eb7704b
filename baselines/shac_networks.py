"""SHAC's networks and observation normaliser, as DiffRL defines them.

- Actor: Linear → ELU → LayerNorm per hidden layer, a linear mean head (default PyTorch init),
  and a state-independent log-std parameter initialised to -1; the env receives tanh(sample).
- Critic: the same trunk with a scalar head, orthogonal init (gain √2) and zero biases.
- RunningMeanStd: parallel mean/variance update, initial count 1e-4, normalisation
  (x - μ) / √(var + 1e-5) without clipping.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers += [nn.ELU(), nn.LayerNorm(sizes[i + 1])]
    return nn.Sequential(*layers)


class Actor(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden: list[int], logstd_init: float = -1.0):
        super().__init__()
        self.mu = mlp([obs_dim, *hidden, act_dim])
        self.logstd = nn.Parameter(torch.full((act_dim,), float(logstd_init)))

    def forward(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """Pre-tanh action: the mean, or a reparameterised sample."""
        mu = self.mu(obs)
        if deterministic:
            return mu
        return mu + torch.exp(self.logstd) * torch.randn_like(mu)


class Critic(nn.Module):
    def __init__(self, obs_dim: int, hidden: list[int]):
        super().__init__()
        self.v = mlp([obs_dim, *hidden, 1])
        for module in self.v:
            if isinstance(module, nn.Linear):
                nn.init.orthogonal_(module.weight, gain=math.sqrt(2.0))
                nn.init.zeros_(module.bias)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.v(obs).squeeze(-1)


class RunningMeanStd(nn.Module):
    def __init__(self, shape: int, epsilon: float = 1e-4):
        super().__init__()
        self.register_buffer("mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("var", torch.ones(shape, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(float(epsilon), dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        x = x.detach().to(torch.float64).reshape(-1, self.mean.shape[0])
        x = x[torch.isfinite(x).all(-1)]  # a blown-up env must not poison the statistics
        if len(x) == 0:
            return
        batch_mean, batch_var, batch_count = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean += delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta ** 2 * self.count * batch_count / total
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.dtype)) / torch.sqrt(self.var.to(x.dtype) + 1e-5)

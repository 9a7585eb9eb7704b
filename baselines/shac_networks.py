"""SHAC's networks, as DiffRL defines them (the observation normaliser is pwm.running_stats).

- Actor: Linear → ELU → LayerNorm per hidden layer, a linear mean head (default PyTorch init),
  and a state-independent log-std parameter initialised to -1; the env receives tanh(sample).
- Critic: the same trunk with a scalar head, orthogonal init (gain √2) and zero biases.
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

"""SHAC's networks for the two presets of ``baselines/shac.py`` (the observation normaliser is
pwm.running_stats).

``diffrl`` (DiffRL ``models/actor.py``, ``models/critic.py``; docs/reference-notes.md §4.2):
- Actor: Linear → ELU → LayerNorm per hidden layer, a linear mean head (default PyTorch init),
  and a state-independent log-std parameter initialised to -1; the env receives tanh(sample).
- Critic: the same trunk with a scalar head, orthogonal init (gain √2) and zero biases; one
  network (plus the Polyak target copy that shac.py keeps).

``pwm`` (imgeorgiev/PWM ``src/pwm/models/actor.py`` ``ActorStochasticMLP``,
``src/pwm/models/critic.py`` ``CriticMLP``, ``src/pwm/models/model_utils.py`` ``Ensemble``, as
``scripts/cfg/alg/shac.yaml`` instantiates them; docs/reference-notes.md §4.1):
- Actor: the same layout with Mish instead of ELU (``activation_class: nn.Mish``), default
  PyTorch init (``init_gain: 1.0`` multiplies every parameter by 1), log-std initialised to -1
  and floored at ``min_logstd`` -10 (``ActorStochasticMLP``'s default; ``clamp_std`` projects the
  parameter before every forward pass).
- Critic: ``num_critics`` (3) independently initialised ``CriticMLP`` members, Linear → Mish →
  LayerNorm hidden layers, orthogonal init gain √2 (``CriticMLP``'s default; shac.yaml passes no
  gain), zero biases. SHAC's value is the minimum over the members
  (``self.critic(real_obs).min(dim=0)`` in ``src/pwm/algorithms/shac.py``); every member
  regresses the same TD(λ) targets. The stacked implementation is :class:`pwm.actor_critic.CriticEnsemble`
  (the one PWM's own critic uses here), applied to normalised observations instead of latents.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pwm.actor_critic import CriticEnsemble
from pwm.nn import Mish

ACTIVATIONS = {"elu": nn.ELU, "mish": Mish}


def mlp(sizes: list[int], activation: str = "elu") -> nn.Sequential:
    """Linear → activation → LayerNorm per hidden layer, a linear head (module indices as DiffRL's)."""
    act = ACTIVATIONS[activation]
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers += [act(), nn.LayerNorm(sizes[i + 1])]
    return nn.Sequential(*layers)


class Actor(nn.Module):
    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden: list[int],
        logstd_init: float = -1.0,
        activation: str = "elu",
        min_logstd: float | None = None,
    ):
        super().__init__()
        self.mu = mlp([obs_dim, *hidden, act_dim], activation)
        self.logstd = nn.Parameter(torch.full((act_dim,), float(logstd_init)))
        self.min_logstd = None if min_logstd is None else float(min_logstd)

    def forward(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """Pre-tanh action: the mean, or a reparameterised sample."""
        if self.min_logstd is not None:
            with torch.no_grad():
                self.logstd.clamp_(min=self.min_logstd)
        mu = self.mu(obs)
        if deterministic:
            return mu
        return mu + torch.exp(self.logstd) * torch.randn_like(mu)


class Critic(nn.Module):
    """DiffRL's single critic: ``obs [..., D] -> [...]``."""

    def __init__(self, obs_dim: int, hidden: list[int]):
        super().__init__()
        self.v = mlp([obs_dim, *hidden, 1])
        for module in self.v:
            if isinstance(module, nn.Linear):
                nn.init.orthogonal_(module.weight, gain=math.sqrt(2.0))
                nn.init.zeros_(module.bias)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.v(obs).squeeze(-1)


class EnsembleCritic(CriticEnsemble):
    """PWM's SHAC critic: ``forward(obs [..., D]) -> [members, ...]``, ``min_value`` the min over members."""

    def __init__(self, obs_dim: int, hidden: list[int], members: int = 3):
        super().__init__(obs_dim, list(hidden), members=members, init_gain=math.sqrt(2.0))

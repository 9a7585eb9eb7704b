"""PWM's actor (tanh-Gaussian on latents) and its critic ensemble (docs/reference-notes.md §2.1).

Both act on the world model's latent ``z``, never on the task embedding. Hidden layers are
Linear -> Mish -> LayerNorm (activation *before* the norm, as in the reference's MLPs, unlike the
world model's Linear -> LayerNorm -> Mish).

The critic ensemble is stored as stacked ``[members, out, in]`` tensors and evaluated with one
GEMM for the first layer and batched matmuls after it, so 3 members cost about what one wide
critic costs (the reference vmaps 3 separate modules with functorch).

:func:`frozen` switches ``requires_grad`` off for modules that must pass gradients *through*
(the world model, the critics inside the actor loss) without receiving any: autograd then skips
their weight-gradient GEMMs entirely, which is ~30% of the reference's actor step
(docs/reference-notes.md §8).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from pwm.nn import Mish, mish, run_layers


def mlp(in_dim: int, hidden: list[int], out_dim: int) -> nn.Sequential:
    """Linear -> Mish -> LayerNorm per hidden layer, linear head; default PyTorch init."""
    dims = [in_dim, *hidden]
    layers: list[nn.Module] = []
    for i in range(len(hidden)):
        layers += [nn.Linear(dims[i], dims[i + 1]), Mish(), nn.LayerNorm(dims[i + 1])]
    layers.append(nn.Linear(dims[-1], out_dim))
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """a = tanh(mu(z) + sigma * eps) with a state-independent learnable log-std floored at ``logstd_min``.

    The floor is applied by projecting the parameter before every forward pass (the reference's
    ``clamp_std``), so the gradient w.r.t. the log-std is the plain one, not a clamp's zero.
    """

    def __init__(
        self, latent_dim: int, action_dim: int, hidden: list[int], logstd_init: float = -1.0, logstd_min: float = -1.427
    ):
        super().__init__()
        self.mu = mlp(latent_dim, list(hidden), action_dim)
        self.logstd = nn.Parameter(torch.full((action_dim,), float(logstd_init)))
        self.logstd_min = float(logstd_min)

    @torch.no_grad()
    def project_logstd(self) -> None:
        self.logstd.clamp_(min=self.logstd_min)

    def mean_action(self, z: torch.Tensor) -> torch.Tensor:
        """tanh(mu(z)) without per-layer module calls, for acting under no_grad / inference mode."""
        return torch.tanh(run_layers(self.mu, z))

    def forward(self, z: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """Squashed action in [-1, 1]; ``deterministic`` gives tanh(mu) (no log-std involved, so it
        is not projected there: one op less on every deployed action)."""
        mu = self.mu(z)
        if deterministic:
            return torch.tanh(mu)
        self.project_logstd()
        return torch.tanh(mu + self.logstd.exp() * torch.randn_like(mu))


class CriticEnsemble(nn.Module):
    """``members`` value MLPs V_k(z) (Linear -> Mish -> LN hidden layers, scalar head).

    Each member's Linear weights get an orthogonal init with gain sqrt(2) and zero biases, as the
    reference's ``CriticMLP``; LayerNorms start at identity.
    """

    def __init__(self, latent_dim: int, hidden: list[int], members: int = 3, init_gain: float = math.sqrt(2.0)):
        super().__init__()
        self.members = members
        dims = [latent_dim, *hidden, 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.ln_weights = nn.ParameterList()
        self.ln_biases = nn.ParameterList()
        for i in range(len(dims) - 1):
            w = torch.empty(members, dims[i + 1], dims[i])
            for k in range(members):
                nn.init.orthogonal_(w[k], gain=init_gain)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(members, dims[i + 1])))
            if i < len(dims) - 2:
                self.ln_weights.append(nn.Parameter(torch.ones(members, dims[i + 1])))
                self.ln_biases.append(nn.Parameter(torch.zeros(members, dims[i + 1])))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Values of every member: ``z [..., L]`` -> ``[members, ...]``."""
        lead = z.shape[:-1]
        h = z.reshape(-1, z.shape[-1])
        n, K = h.shape[0], self.members
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if i == 0:  # one GEMM for all members: [N, in] @ [in, K*out]
                h = F.linear(h, w.reshape(-1, w.shape[-1]), b.reshape(-1)).view(n, K, -1).transpose(0, 1)
            else:
                h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if i < last:
                h = F.layer_norm(mish(h), h.shape[-1:])
                h = torch.addcmul(self.ln_biases[i].unsqueeze(1), h, self.ln_weights[i].unsqueeze(1))
        return h.reshape(K, *lead)

    def min_value(self, z: torch.Tensor) -> torch.Tensor:
        """min_k V_k(z): the pessimistic value PWM uses everywhere (``[...]``)."""
        return self(z).min(0).values


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Within the block, the modules' parameters do not require grad (restored afterwards).

    Gradients still flow through the modules to their inputs; no weight gradients are computed
    or stored, so an optimiser of those modules sees ``.grad is None``."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)

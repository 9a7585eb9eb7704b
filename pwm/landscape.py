"""The policy objective's landscape: along random directions in policy-parameter space, and its
gradient statistics (the core of issue 21; the CLI, rule and figure are not built yet).

The PWM paper argues that a well-regularised world model gives a smoother optimisation landscape
than the true dynamics, so first-order gradients through the model work better than through the
simulator. Both sides are objectives of the same form here: an *objective* is a function with no
arguments that returns the H-step discounted return from each of N start states, ``[N]``,
differentiable in the policy's parameters (:func:`simulator_objective`,
:func:`world_model_objective`, or any closure, e.g. a linear system's in the tests). On it:

- :func:`filter_normalized_direction`: a Gaussian direction with each filter (row of a weight
  matrix; a vector as one filter) rescaled to the norm of the same filter of the parameters, as in
  Li et al. 2018 ("Visualizing the Loss Landscape of Neural Nets"), so that directions are comparable
  across layers and networks;
- :func:`slice_1d` / :func:`slice_2d`: the mean objective at ``params + a d1 (+ b d2)``;
- :func:`gradient_statistics`: the mean objective, the norm of its gradient, and the variance of the
  per-start-state gradients (the mean squared distance of each start state's gradient from their
  mean), which is what makes a few-sample gradient estimate noisy;
- :func:`cosine` between two gradients (model against simulator) and :func:`roughness` of a slice
  (the mean absolute second difference of its values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import torch

Objective = Callable[[], torch.Tensor]  # -> per-start-state returns [N], differentiable in the params


def filter_normalized_direction(params: Sequence[torch.Tensor], generator: torch.Generator) -> list[torch.Tensor]:
    """A random direction, one tensor per parameter, filter-normalised (Li et al. 2018): every row of a
    matrix (every filter) and every vector as a whole gets the norm of the same part of the parameter."""
    directions = []
    for p in params:
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        if p.dim() <= 1:
            d = d * (p.norm() / d.norm().clamp_min(1e-12))
        else:
            rows_p, rows_d = p.reshape(p.shape[0], -1), d.reshape(d.shape[0], -1)
            scale = rows_p.norm(dim=1, keepdim=True) / rows_d.norm(dim=1, keepdim=True).clamp_min(1e-12)
            d = (rows_d * scale).reshape(p.shape)
        directions.append(d.detach())
    return directions


@contextmanager
def displaced(params: Sequence[torch.Tensor], steps: Sequence[tuple[float, Sequence[torch.Tensor]]]):
    """Parameters moved to ``p + sum(c * d)`` for the ``(c, directions)`` in ``steps``, then put back."""
    saved = [p.detach().clone() for p in params]
    with torch.no_grad():
        for c, directions in steps:
            for p, d in zip(params, directions, strict=True):
                p.add_(d.to(p), alpha=float(c))
    try:
        yield
    finally:
        with torch.no_grad():
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)


def mean_objective(objective: Objective) -> float:
    with torch.no_grad():
        return float(objective().mean())


def slice_1d(objective: Objective, params, direction, alphas) -> np.ndarray:
    """The mean objective at ``params + alpha * direction`` for each alpha."""
    values = []
    for alpha in alphas:
        with displaced(params, [(alpha, direction)]):
            values.append(mean_objective(objective))
    return np.asarray(values)


def slice_2d(objective: Objective, params, d1, d2, alphas, betas) -> np.ndarray:
    """``[len(alphas), len(betas)]``: the mean objective at ``params + a d1 + b d2``."""
    values = np.zeros((len(alphas), len(betas)))
    for i, a in enumerate(alphas):
        for j, b in enumerate(betas):
            with displaced(params, [(a, d1), (b, d2)]):
                values[i, j] = mean_objective(objective)
    return values


def flat_gradient(value: torch.Tensor, params, retain_graph: bool = False) -> torch.Tensor:
    grads = torch.autograd.grad(value, list(params), retain_graph=retain_graph, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)])


def gradient_statistics(objective: Objective, params) -> dict[str, float | torch.Tensor]:
    """The mean objective, its gradient (``gradient``, flattened) and that gradient's norm, and the
    variance of the per-start-state gradients: mean over start states of ||g_i - mean_i g_i||^2."""
    returns = objective()
    n = returns.shape[0]
    per_state = torch.stack([flat_gradient(returns[i], params, retain_graph=True) for i in range(n)])
    gradient = per_state.mean(0)
    return {
        "objective": float(returns.detach().mean()),
        "gradient": gradient,
        "gradient_norm": float(gradient.norm()),
        "gradient_variance": float(((per_state - gradient) ** 2).sum(1).mean()),
        "start_states": n,
    }


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.reshape(1, -1), b.reshape(1, -1)).item())


def roughness(values) -> float:
    """Mean absolute second difference of a slice's values (0 for a straight line)."""
    values = np.asarray(values, dtype=float)
    if values.size < 3:
        raise ValueError(f"roughness needs at least 3 points, got {values.size}")
    return float(np.abs(values[2:] - 2 * values[1:-1] + values[:-2]).mean())


def simulator_objective(env, start_state: dict, policy: Callable, horizon: int, gamma: float) -> Objective:
    """The H-step discounted return through a differentiable simulator (``pwm.envs.diff.DiffEnv``)
    from ``start_state`` (``env.get_state()``), rewards after an episode's end not counted."""

    def objective() -> torch.Tensor:
        env.set_state(start_state)
        obs = env.obs
        ret = torch.zeros(env.num_envs, dtype=obs.dtype)
        alive = torch.ones(env.num_envs, dtype=obs.dtype)
        for t in range(horizon):
            obs, reward, done, _ = env.step(policy(obs))
            ret = ret + (gamma**t) * alive * reward
            alive = alive * (~done).to(obs.dtype)
        return ret

    return objective


def simulator_alive(env, start_state: dict, policy: Callable, horizon: int) -> torch.Tensor:
    """``[H, N]``: 1 where the simulator's episode from ``start_state`` under ``policy`` has not ended
    before step t (a rollout without gradients)."""
    with torch.no_grad():
        env.set_state(start_state)
        obs, alive, rows = env.obs, torch.ones(env.num_envs), []
        for _ in range(horizon):
            rows.append(alive)
            obs, _, done, _ = env.step(policy(obs))
            alive = alive * (~done).float()
    return torch.stack(rows)


def world_model_objective(
    wm,
    start_obs: torch.Tensor,
    actor: Callable,
    to_raw: Callable,
    horizon: int,
    gamma: float,
    alive: Callable[[], torch.Tensor] | None = None,
):
    """The same return through a single-task world model: encode the start observations, roll the
    actor on the latents, sum the decoded rewards converted to the simulator's units by ``to_raw``.
    ``alive()`` (``[H, N]``, e.g. :func:`simulator_alive` at the current parameters) masks the rewards
    after the simulator's episode ended, which a world model without a termination head cannot know."""
    from pwm.policy_learning import decode_reward

    def objective() -> torch.Tensor:
        with torch.no_grad():
            z = wm.encode(start_obs)
            mask = alive() if alive is not None else torch.ones(horizon, start_obs.shape[0])
        ret = torch.zeros(start_obs.shape[0], dtype=z.dtype)
        for t in range(horizon):
            a = actor(z)
            ret = ret + (gamma**t) * mask[t].to(z.dtype) * to_raw(decode_reward(wm.reward(z, a, None), wm, False))
            z = wm.next(z, a, None)
        return ret

    return objective

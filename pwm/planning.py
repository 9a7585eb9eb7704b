"""MPPI planning in a TD-MPC2 world model's latent space (docs/reference-notes.md §7.4).

The planner samples action sequences around a Gaussian, scores each with the model's predicted
discounted rewards plus a terminal Q value, and refits the Gaussian to the best sequences with
exponentially weighted scores ("elites"). A few sequences come from the policy prior and are never
resampled, so the planner is never worse than following the prior. The final mean is kept and
shifted by one step to warm-start the next decision of the same episode.

It lives in ``pwm`` rather than ``baselines`` because any world model checkpoint (TD-MPC2's own,
or PWM's pretrained ones) can be evaluated by planning with it (``pwm-bench eval-planning``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pwm import math
from pwm.world_model import WorldModel


@dataclass
class PlannerConfig:
    horizon: int = 3
    iterations: int = 6  # MPPIPlanner runs 2 more when the action dim is >= 20 (planning_iterations)
    num_samples: int = 512
    num_elites: int = 64
    num_pi_trajs: int = 24
    min_std: float = 0.05
    max_std: float = 2.0
    temperature: float = 0.5  # multiplies (value - max): an inverse temperature, as in TD-MPC2

    def __post_init__(self):
        if self.horizon < 1 or self.iterations < 1:
            raise ValueError(f"planning needs horizon >= 1 and iterations >= 1, got {self.horizon}, {self.iterations}")
        if not 0 < self.num_elites <= self.num_samples or not 0 <= self.num_pi_trajs < self.num_samples:
            raise ValueError(
                f"need 0 < num_elites <= num_samples and 0 <= num_pi_trajs < num_samples, got "
                f"{self.num_elites}, {self.num_samples}, {self.num_pi_trajs}"
            )

    @classmethod
    def from_mapping(cls, cfg) -> PlannerConfig:
        return cls(**{k: type(getattr(cls, k))(cfg[k]) for k in cls.__dataclass_fields__ if k in cfg})


# TD-MPC2 plans with 2 more MPPI iterations when the action space is large (dog, humanoid: A >= 20);
# upstream applies it to its config in ``TDMPC2.__init__`` (tdmpc2/tdmpc2.py).
LARGE_ACTION_DIM = 20
LARGE_ACTION_EXTRA_ITERATIONS = 2


def planning_iterations(iterations: int, action_dim: int) -> int:
    """MPPI iterations actually run: ``iterations``, plus 2 when ``action_dim >= 20`` (TD-MPC2's heuristic).

    For a multitask model ``action_dim`` is the model's padded action dim (the suite's largest), as
    in TD-MPC2, so every task of a suite plans with the same count."""
    return int(iterations) + LARGE_ACTION_EXTRA_ITERATIONS * int(action_dim >= LARGE_ACTION_DIM)


def discount_heuristic(episode_length, denom: float = 5.0, low: float = 0.95, high: float = 0.995):
    """TD-MPC2's task discount: (frac-1)/frac with frac = episode_length/denom, clipped to [low, high].

    Long episodes get a long effective horizon: 500-step DMC episodes -> 0.99, 100-step Meta-World
    episodes -> 0.95. Accepts an int or a tensor of per-task lengths."""
    frac = torch.as_tensor(episode_length, dtype=torch.float32) / denom
    return torch.clamp((frac - 1) / frac, low, high)


class MPPIPlanner:
    """Plans one action per call; call :meth:`plan` with ``t0=True`` at each episode start.

    ``discount`` is a float (single-task) or a ``[num_tasks]`` tensor. In multitask models every
    sampled action and the fitted mean/std are multiplied by the task's action mask, so padded
    action dims are exactly 0. ``iterations`` is what :meth:`plan` runs: ``cfg.iterations`` plus
    TD-MPC2's 2 extra for action dims >= 20 (:func:`planning_iterations`), decided here once for
    every user of the planner (the online agent, ``pwm-bench eval-planning``, the benchmarks).
    """

    def __init__(self, model: WorldModel, cfg: PlannerConfig, discount):
        self.model, self.cfg = model, cfg
        self.iterations = planning_iterations(cfg.iterations, model.cfg.action_dim)
        self.discount = torch.as_tensor(discount, dtype=torch.float32, device=self._device)
        self.prev_mean: torch.Tensor | None = None

    @property
    def _device(self):
        return next(self.model.parameters()).device

    def _task_discount(self, task):
        if self.discount.ndim == 0:
            return self.discount
        return self.discount[task]

    def policy_rollout(self, z: torch.Tensor, task, count: int) -> torch.Tensor:
        """``[H, count, A]`` action sequences of the policy prior from latent ``z [1, L]``."""
        H, m = self.cfg.horizon, self.model
        z = z.expand(count, -1)
        actions = []
        for t in range(H):
            a = m.pi(z, task)[0]
            actions.append(a)
            if t < H - 1:
                z = m.next(z, a, task)
        return torch.stack(actions)

    def estimate_value(self, z: torch.Tensor, actions: torch.Tensor, task) -> torch.Tensor:
        """Discounted predicted rewards over the horizon plus the discounted terminal Q: ``[N, 1]``.

        In an ``episodic`` model a predicted termination (probability > 0.5 at the latent reached
        after step t) ends the return there: no later reward and no terminal Q (TD-MPC2's
        ``_estimate_value``)."""
        m, gamma = self.model, self._task_discount(task)
        G, discount = 0.0, 1.0
        alive = 1.0
        for t in range(actions.shape[0]):
            reward = math.two_hot_inv(m.reward(z, actions[t], task), m.cfg.vmin, m.cfg.vmax)
            z = m.next(z, actions[t], task)
            G = G + discount * alive * reward
            discount = discount * gamma
            if m.cfg.episodic:
                alive = alive * (m.termination(z, task) <= 0.5).float()
        a, _ = m.pi(z, task)
        return G + discount * alive * m.Q(z, a, task, "avg")

    @torch.no_grad()
    def plan(
        self, obs: torch.Tensor, task: int | None = None, t0: bool = False, eval_mode: bool = False
    ) -> torch.Tensor:
        """One action ``[A]`` in [-1, 1] for observation ``obs [O]`` (task id for multitask models)."""
        c, m = self.cfg, self.model
        was_training = m.training
        m.eval()
        task_arg = task if m.multitask else None
        z = m.encode(obs.reshape(1, -1).to(self._device), task_arg)
        A = m.cfg.action_dim
        mask = m.action_mask(task_arg)  # [1, A] or None
        npi = c.num_pi_trajs
        actions = torch.empty(c.horizon, c.num_samples, A, device=z.device)
        if npi > 0:
            actions[:, :npi] = self.policy_rollout(z, task_arg, npi)
        mean = torch.zeros(c.horizon, A, device=z.device)
        std = torch.full((c.horizon, A), c.max_std, device=z.device)
        if not t0 and self.prev_mean is not None:
            mean[:-1] = self.prev_mean[1:]
        zs = z.expand(c.num_samples, -1)
        for _ in range(self.iterations):
            noise = torch.randn(c.horizon, c.num_samples - npi, A, device=z.device)
            actions[:, npi:] = (mean.unsqueeze(1) + std.unsqueeze(1) * noise).clamp(-1, 1)
            if mask is not None:
                actions.mul_(mask)
            value = self.estimate_value(zs, actions, task_arg).nan_to_num(0).squeeze(1)  # [N]
            elite_idx = torch.topk(value, c.num_elites).indices
            elite_value, elite_actions = value[elite_idx], actions[:, elite_idx]  # [E], [H, E, A]
            score = torch.exp(c.temperature * (elite_value - elite_value.max()))
            score = score / score.sum()
            mean = (score[None, :, None] * elite_actions).sum(1) / (score.sum() + 1e-9)
            std = (
                ((score[None, :, None] * (elite_actions - mean.unsqueeze(1)) ** 2).sum(1) / (score.sum() + 1e-9))
                .sqrt()
                .clamp(c.min_std, c.max_std)
            )
            if mask is not None:
                mean, std = mean * mask, std * mask
        # Gumbel-max: draw one elite with probability proportional to its score.
        gumbel = -torch.empty_like(score).exponential_().log()
        choice = torch.argmax(score.log() + gumbel)
        action, first_std = elite_actions[0, choice], std[0]
        if not eval_mode:
            action = action + first_std * torch.randn(A, device=z.device)
        self.prev_mean = mean
        if was_training:
            m.train()
        return action.clamp(-1, 1)

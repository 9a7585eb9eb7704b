"""PWM's policy learning in a frozen world model (docs/reference-notes.md §2.2-2.3): one iteration = one actor step
through an H-step imagined rollout + a critic fit on the rollout's latents.

Actor loss, per start latent (γ = gamma):

    loss_b = -( Σ_t γ^t r̂_t + γ^(H + terminal_discount_offset) · min_k V_k(ẑ_H) )

divided by the running std of loss_b (``ret_rms``), then averaged. Gradients reach the actor only
through the world model's dynamics and reward (the actor sees ``sg(ẑ_t)``) and through the
critic's *input* at the horizon. The world model and critics are :func:`frozen` during the actor
step, so no weight gradients are computed for them.

With a real environment in lockstep (single-task), rollouts that end (done) are closed early with
γ^len·V of the predicted next latent (0 on termination), and continue from the encoded reset
observation with the discount restarted, as in the reference's dflex loop.

Critic targets are TD(λ) over the rollout segments, or one-step TD (what the reference's
multitask code actually computes, docs/reference-notes.md §3.1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import clip_grad_norm_

from pwm import math as wm_math
from pwm.actor_critic import Actor, CriticEnsemble, frozen
from pwm.run import DivergedError
from pwm.running_stats import RunningMeanStd
from pwm.world_model import WorldModel

# step_env(actions [B, A]) -> (obs after auto-reset [B, O], done [B] bool, terminated [B] bool)
EnvStep = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def decode_reward(logits: torch.Tensor, wm: WorldModel, symexp: bool) -> torch.Tensor:
    """Reward head output -> scalar ``[...]``.

    ``num_bins`` 0: the scalar itself; 1: symexp of it; more: the softmax-expected bin centre,
    followed by symexp only if ``symexp`` (the reference's ``almost_two_hot_inv`` omits it)."""
    cfg = wm.cfg
    if cfg.num_bins == 0:
        return logits[..., 0]
    if cfg.num_bins == 1:
        return wm_math.symexp(logits[..., 0])
    probs = torch.softmax(logits, dim=-1)
    value = probs @ wm_math.bin_centres(cfg.num_bins, cfg.vmin, cfg.vmax, logits)
    return wm_math.symexp(value) if symexp else value


@dataclass
class Rollout:
    """What one imagined rollout leaves for the critic (all detached) and the actor loss."""

    loss: torch.Tensor  # scalar, differentiable w.r.t. the actor
    raw_loss: torch.Tensor  # [B] per-rollout loss before normalisation (detached)
    latents: torch.Tensor  # [H, B, L] ẑ_t, the critic's inputs
    rewards: torch.Tensor  # [H, B] r̂_t
    next_values: torch.Tensor  # [H, B] min_k V_k(ẑ_{t+1}) (0 where the real env terminated)
    dones: torch.Tensor  # [H, B] 1 where a real episode ended after step t (last row: see targets)
    nan_rewards: int  # model rewards that were NaN (replaced by 0)


def imagine(
    wm: WorldModel,
    actor: Actor,
    critic: CriticEnsemble,
    z: torch.Tensor,
    task,
    horizon: int,
    gamma: float,
    reward_symexp: bool = False,
    terminal_discount_offset: int = 1,
    ret_rms: RunningMeanStd | None = None,
    step_env: EnvStep | None = None,
    action_mask: torch.Tensor | None = None,
) -> Rollout:
    """Roll the actor through the world model from latents ``z [B, L]`` and build the actor loss.

    Call it with the world model and critic frozen (see :meth:`PolicyLearner.actor_step`).
    ``ret_rms`` (updated here) normalises the loss; without it the loss is divided by H.
    ``action_mask`` (``[A]`` or ``[B, A]``) zeroes padded action dims before the world model sees them."""
    B = z.shape[0]
    latents, rewards, next_values, dones = [], [], [], []
    ret = z.new_zeros(B)  # discounted reward of the current segment
    disc = z.new_ones(B)  # γ^(steps so far in the segment): the weight of this step's reward
    loss = z.new_zeros(B)
    nan_rewards = 0
    for t in range(horizon):
        last = t == horizon - 1
        latents.append(z.detach())
        a = actor(z.detach())
        if action_mask is not None:
            a = a * action_mask
        r = decode_reward(wm.reward(z, a, task), wm, reward_symexp)
        z_next = wm.next(z, a, task)
        bad = torch.isnan(r)
        if bad.any():
            nan_rewards += int(bad.sum())
            r = torch.nan_to_num(r, 0.0, 0.0, 0.0)
        ret = ret + disc * r
        if step_env is not None:
            obs, done, term = step_env(a.detach())
            done, term = done.to(z.device).bool(), term.to(z.device).bool()
        else:
            obs, done, term = None, torch.zeros(B, dtype=torch.bool, device=z.device), None
        # V(ẑ_{t+1}) enters the loss at the horizon and where an episode ended; elsewhere it is only
        # a critic target, so it is computed without a graph.
        if last or done.any():
            v = critic.min_value(z_next)
        else:
            with torch.no_grad():
                v = critic.min_value(z_next)
        if term is not None:
            v = torch.where(term, torch.zeros_like(v), v)
        if (v.detach().abs() > 1e6).any():
            raise DivergedError(f"critic value {float(v.detach().abs().max()):.3g} exceeds 1e6 in the rollout")
        if last:
            # Segments cut by the horizon; the reference bootstraps with one extra γ (docs/reference-notes.md §3.2).
            end_disc = disc * gamma ** (1 + terminal_discount_offset)
            close = torch.where(done, disc * gamma, end_disc)
            loss = loss - (ret + close * v)
        elif done.any():
            loss = loss - torch.where(done, ret + disc * gamma * v, torch.zeros_like(v))
            ret = torch.where(done, torch.zeros_like(ret), ret)
            disc = torch.where(done, torch.ones_like(disc), disc * gamma)
            z_next = torch.where(done.unsqueeze(-1), wm.encode(obs.to(z.device), task), z_next)
        else:
            disc = disc * gamma
        rewards.append(r.detach())
        next_values.append(v.detach())
        dones.append(done.float())
        z = z_next
    raw = loss.detach()
    if ret_rms is not None:
        ret_rms.update(raw)
        loss = loss / ret_rms.std().to(loss.dtype)
    else:
        loss = loss / horizon
    return Rollout(
        loss=loss.mean(),
        raw_loss=raw,
        latents=torch.stack(latents),
        rewards=torch.stack(rewards),
        next_values=torch.stack(next_values),
        dones=torch.stack(dones),
        nan_rewards=nan_rewards,
    )


@torch.no_grad()
def td_lambda_targets(
    rewards: torch.Tensor, next_values: torch.Tensor, dones: torch.Tensor, gamma: float, lam: float
) -> torch.Tensor:
    """λ-returns ``[H, B]``: G_t = r_t + γ((1-λ)V_{t+1} + λG_{t+1}), and G_t = r_t + γV_{t+1}
    where an episode ended after step t and at the last step (the rollout's end)."""
    H = rewards.shape[0]
    targets = torch.empty_like(rewards)
    G = rewards[-1] + gamma * next_values[-1]
    targets[-1] = G
    for t in range(H - 2, -1, -1):
        blended = (1 - lam) * next_values[t] + lam * G
        G = rewards[t] + gamma * torch.where(dones[t].bool(), next_values[t], blended)
        targets[t] = G
    return targets


@torch.no_grad()
def one_step_targets(rewards: torch.Tensor, next_values: torch.Tensor, gamma: float) -> torch.Tensor:
    """G_t = r_t + γ·min_k V_k(ẑ_{t+1}): the reference's multitask targets (done mask all ones)."""
    return rewards + gamma * next_values


def linear_lr(lr0: float, lr_min: float, iteration: int, total: int) -> float:
    """The reference's schedule: linear from ``lr0`` at iteration 0 towards ``lr_min`` at ``total``."""
    return lr0 + (lr_min - lr0) * min(iteration / max(total, 1), 1.0)


class PolicyLearner:
    """Actor, critic ensemble, their Adam optimisers and the return normaliser of one task.

    ``cfg`` holds the settings of ``pwm/configs/pwm.yaml``; ``multitask`` selects the reference's
    multitask conventions where ``cfg`` says ``auto`` (one-step critic targets, raise on NaN actor
    gradients) versus its dflex ones (TD(λ), zero NaN gradients).
    """

    def __init__(self, wm: WorldModel, cfg, action_dim: int, multitask: bool, device="cpu"):
        self.wm, self.cfg, self.multitask = wm, cfg, multitask
        self.device = torch.device(device)
        L = wm.cfg.latent_dim
        self.actor = Actor(L, action_dim, list(cfg.actor_hidden), cfg.actor_logstd_init, cfg.actor_logstd_min).to(
            self.device
        )
        self.critic = CriticEnsemble(L, list(cfg.critic_hidden), int(cfg.num_critics)).to(self.device)
        betas = tuple(float(b) for b in cfg.betas)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=float(cfg.actor_lr), betas=betas)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=float(cfg.critic_lr), betas=betas)
        self.ret_rms = RunningMeanStd().to(self.device) if cfg.ret_rms else None
        self.iteration = 0
        target = cfg.critic_target if cfg.critic_target != "auto" else ("one_step" if multitask else "td_lambda")
        if target not in ("one_step", "td_lambda"):
            raise ValueError(f"critic_target must be auto, one_step or td_lambda, got {cfg.critic_target!r}")
        self.critic_target = target
        nan = cfg.actor_nan_grads if cfg.actor_nan_grads != "auto" else ("raise" if multitask else "zero")
        if nan not in ("raise", "zero"):
            raise ValueError(f"actor_nan_grads must be auto, raise or zero, got {cfg.actor_nan_grads!r}")
        self.actor_nan_grads = nan

    def action_mask(self, task) -> torch.Tensor | None:
        """The task's action mask if ``mask_actions`` is on (multitask models only)."""
        if not self.cfg.mask_actions or not self.wm.multitask:
            return None
        return self.wm.action_mask(task)

    # ---- one iteration -------------------------------------------------------------------------
    def set_learning_rates(self, total_iterations: int) -> dict[str, float]:
        c, lrs = self.cfg, {}
        for name, opt, lr0 in (("actor_lr", self.actor_opt, c.actor_lr), ("critic_lr", self.critic_opt, c.critic_lr)):
            lr = (
                linear_lr(float(lr0), float(c.lr_min), self.iteration, total_iterations)
                if c.lr_schedule == "linear"
                else float(lr0)
            )
            for group in opt.param_groups:
                group["lr"] = lr
            lrs[name] = lr
        return lrs

    def actor_step(self, z0: torch.Tensor, task, step_env: EnvStep | None = None) -> tuple[Rollout, float]:
        c = self.cfg
        self.actor_opt.zero_grad(set_to_none=True)
        with frozen(self.wm, self.critic):
            rollout = imagine(
                self.wm,
                self.actor,
                self.critic,
                z0,
                task,
                int(c.horizon),
                float(c.gamma),
                bool(c.reward_symexp),
                int(c.terminal_discount_offset),
                self.ret_rms,
                step_env,
                self.action_mask(task),
            )
            rollout.loss.backward()
        params = list(self.actor.parameters())
        norm = clip_grad_norm_(params, float(c.actor_grad_norm))
        if not torch.isfinite(norm):
            if self.actor_nan_grads == "raise":
                raise DivergedError(f"non-finite actor gradient norm {float(norm)} at iteration {self.iteration}")
            for p in params:
                if p.grad is not None:
                    p.grad.nan_to_num_(0.0, 0.0, 0.0)
            norm = clip_grad_norm_(params, float(c.actor_grad_norm))
        self.actor_opt.step()
        return rollout, float(norm)

    def critic_targets(self, r: Rollout) -> torch.Tensor:
        c = self.cfg
        if self.critic_target == "one_step":
            return one_step_targets(r.rewards, r.next_values, float(c.gamma))
        return td_lambda_targets(r.rewards, r.next_values, r.dones, float(c.gamma), float(c.lam))

    def fit_critic(self, latents: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
        """``critic_iterations`` passes over ``critic_batches`` unshuffled minibatches (as the reference);
        returns the mean loss and the last gradient norm."""
        c = self.cfg
        x, y = latents.reshape(-1, latents.shape[-1]), targets.reshape(-1)
        keep = torch.isfinite(x).all(-1) & torch.isfinite(y)
        if not bool(keep.all()):
            x, y = x[keep], y[keep]
        n = x.shape[0]
        size = -(-n // int(c.critic_batches))
        params = list(self.critic.parameters())
        total, steps, norm = 0.0, 0, torch.tensor(0.0)
        for _ in range(int(c.critic_iterations)):
            for start in range(0, n, size):
                xb, yb = x[start : start + size], y[start : start + size]
                self.critic_opt.zero_grad(set_to_none=True)
                loss = (self.critic(xb) - yb).pow(2).mean()
                loss.backward()
                for p in params:
                    p.grad.nan_to_num_(0.0, 0.0, 0.0)
                norm = clip_grad_norm_(params, float(c.critic_grad_norm))
                self.critic_opt.step()
                total += loss.detach()
                steps += 1
        return float(total) / max(steps, 1), float(norm)

    def update(self, z0: torch.Tensor, task, total_iterations: int, step_env: EnvStep | None = None) -> dict:
        """One PWM iteration from start latents ``z0 [B, L]``; returns metrics."""
        lrs = self.set_learning_rates(total_iterations)
        rollout, actor_norm = self.actor_step(z0, task, step_env)
        value_loss, critic_norm = self.fit_critic(rollout.latents, self.critic_targets(rollout))
        self.iteration += 1
        return {
            "actor_loss": float(rollout.loss.detach()),
            "value_loss": value_loss,
            "actor_grad_norm": actor_norm,
            "critic_grad_norm": critic_norm,
            "imagined_return": float(-rollout.raw_loss.mean()),
            "nan_rewards": rollout.nan_rewards,
            "actor_std": float(self.actor.logstd.detach().exp().mean()),
            **lrs,
        }

    # ---- acting --------------------------------------------------------------------------------
    @torch.inference_mode()
    def act(self, obs: torch.Tensor, task=None, deterministic: bool = True) -> torch.Tensor:
        """Action(s) in [-1, 1] of the actor on the encoded observation(s) ``obs [..., O]``
        (inference mode: no autograd bookkeeping at all, cheaper than no_grad at batch 1)."""
        if deterministic:  # the deployed action: no module calls per layer (issue 18)
            return self.actor.mean_action(self.wm.encode_for_action(obs, task))
        return self.actor(self.wm.encode(obs, task), deterministic=False)

    # ---- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "ret_rms": self.ret_rms.state_dict() if self.ret_rms is not None else None,
            "iteration": self.iteration,
        }

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        if self.ret_rms is not None and state["ret_rms"] is not None:
            self.ret_rms.load_state_dict(state["ret_rms"])
        self.iteration = int(state["iteration"])


def freeze(module: nn.Module) -> nn.Module:
    """A permanently frozen module (e.g. the multitask world model): no grads, eval mode."""
    module.requires_grad_(False)
    return module.eval()

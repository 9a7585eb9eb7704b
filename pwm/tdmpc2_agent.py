"""The TD-MPC2 agent: world-model + policy-prior update and acting by MPPI planning.

It lives in ``pwm`` beside the world model because two layers use it: offline world-model
pretraining (``pwm.pretrain``, the multitask models PWM learns policies in) and the online TD-MPC2
baseline on top (``baselines/tdmpc2.py``). Its settings are ``pwm/configs/tdmpc2.yaml``
(:func:`load_hparams`).

One ``TDMPC2Agent.update`` is TD-MPC2's ``_update`` (``tdmpc2/tdmpc2.py`` of the TD-MPC2 code):

1. TD targets ``r + γ·(1-terminated)·Q_target(z', a'~π)`` (min of two random target members) from
   the *online* encoder, without gradient; ``terminated`` is 0 except in ``episodic`` mode.
2. A latent rollout from ``z0 = encode(obs0)`` through the dynamics over the horizon; losses are
   weighted by ``rho^t`` so early, better-grounded predictions count more:
   consistency (MSE to the encoded next observations), two-hot cross-entropy of rewards and of
   every Q member against the TD targets; in ``episodic`` mode also the binary cross-entropy of
   the termination head on the rollout latents ``z_1..z_H`` (unweighted by rho, coefficient
   ``termination_coef``).
3. One Adam step with the encoder at a reduced learning rate, gradients clipped by norm.
4. The policy prior maximises ``Q/scale + entropy`` along the (detached) rollout, where ``scale``
   is a running 5-95 percentile range of Q (``RunningScale``), so the entropy weight does not
   depend on the task's reward scale.
5. Polyak averaging of the target Q ensemble.

The loss pieces are plain functions so tests can check them against independent computations.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from pwm import hparams as hparams_loader
from pwm import math
from pwm.data.sampler import Batch
from pwm.planning import MPPIPlanner, PlannerConfig
from pwm.world_model import WorldModel

CONFIG_PATH = Path(__file__).with_name("configs") / "tdmpc2.yaml"


def load_hparams(hparams: dict | None = None) -> DictConfig:
    """The defaults of ``pwm/configs/tdmpc2.yaml`` with ``hparams`` merged in, strictly (pwm.hparams:
    unknown keys and wrong types rejected), as a DictConfig for attribute access (``cfg.lr``)."""
    return OmegaConf.create(hparams_loader.resolve("tdmpc2", None, hparams))


class RunningScale:
    """Running estimate of the 5th-95th percentile range of Q, at least 1 (TD-MPC2's ``RunningScale``)."""

    def __init__(self, tau: float = 0.01, device=None):
        self.tau = tau
        self.value = torch.ones((), device=device)

    @staticmethod
    def percentile_range(x: torch.Tensor) -> torch.Tensor:
        """P95 - P5 along the batch dim (linear interpolation), floored at 1."""
        q = torch.quantile(
            x.detach().float().reshape(x.shape[0], -1),
            torch.tensor([0.05, 0.95], device=x.device),
            dim=0,
            interpolation="linear",
        )
        return torch.clamp(q[1] - q[0], min=1.0).mean()

    def update(self, x: torch.Tensor) -> None:
        self.value = torch.lerp(self.value, self.percentile_range(x), self.tau)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x / self.value

    def state_dict(self) -> dict:
        return {"value": self.value.detach().cpu().clone(), "tau": self.tau}

    def load_state_dict(self, state: dict) -> None:
        self.value = state["value"].to(self.value.device)
        self.tau = float(state["tau"])


def rho_weights(rho: float, n: int, like: torch.Tensor) -> torch.Tensor:
    """``[rho^0, ..., rho^(n-1)]``."""
    return rho ** torch.arange(n, device=like.device, dtype=like.dtype)


def td_target(model: WorldModel, next_z, reward, terminated, discount, task) -> torch.Tensor:
    """``r + γ·(1-terminated)·Q_target(z', a')`` with ``a' ~ π(z')``, ``[H, B, 1]``."""
    next_action, _ = model.pi(next_z, task)
    return reward + discount * (1 - terminated) * model.Q(next_z, next_action, task, "min", target=True)


def world_model_losses(model: WorldModel, batch: Batch, discount, rho: float, task=None) -> dict[str, torch.Tensor]:
    """TD-MPC2's world-model losses (each already normalised by H, value also by num_q) and the latents.

    Returns ``consistency``, ``reward``, ``value``, ``termination`` (0 if not episodic) and
    ``zs [H+1, B, L]`` (the rollout latents, with gradient).
    """
    H = batch.action.shape[0]
    with torch.no_grad():
        next_z = model.encode(batch.obs[1:], task)
        target = td_target(model, next_z, batch.reward, batch.terminated, discount, task)
    z = model.encode(batch.obs[0], task)
    zs = [z]
    for t in range(H):
        z = model.next(z, batch.action[t], task)
        zs.append(z)
    zs = torch.stack(zs)
    w = rho_weights(rho, H, zs)
    consistency = ((zs[1:] - next_z).pow(2).mean(dim=(1, 2)) * w).sum() / H
    _zs = zs[:-1]
    reward_logits = model.reward(_zs, batch.action, task)  # [H, B, K]
    q_logits = model.Q(_zs, batch.action, task, "all")  # [num_q, H, B, K]
    reward_loss = (math.soft_ce(reward_logits, batch.reward).mean(dim=(1, 2)) * w).sum() / H
    value_ce = math.soft_ce(q_logits, target.unsqueeze(0).expand(q_logits.shape[0], -1, -1, -1))
    value_loss = (value_ce.mean(dim=(2, 3)) * w).sum() / (H * q_logits.shape[0])
    if model.cfg.episodic:
        term_logits = model.termination(zs[1:], task, unnormalized=True)
        termination = F.binary_cross_entropy_with_logits(term_logits, batch.terminated)
    else:
        termination = torch.zeros((), device=zs.device)
    return dict(consistency=consistency, reward=reward_loss, value=value_loss, termination=termination, zs=zs)


def policy_loss(
    model: WorldModel, zs: torch.Tensor, scale: RunningScale, rho: float, entropy_coef: float, task=None
) -> torch.Tensor:
    """``mean_t rho^t · mean_B -(entropy_coef·scaled_entropy + Q/scale)``; Q is detached from its weights.

    Updates ``scale`` with the Q values of the first rollout step, as TD-MPC2 does."""
    action, info = model.pi(zs, task)
    q = model.Q(zs, action, task, "avg", detach=True)
    scale.update(q[0])
    q = scale(q)
    w = rho_weights(rho, zs.shape[0], zs)
    return ((-(entropy_coef * info["scaled_entropy"] + q)).mean(dim=(1, 2)) * w).mean()


def make_optimizers(model: WorldModel, lr: float, enc_lr_scale: float):
    """Adam for the model (encoder at ``lr·enc_lr_scale``) and a separate Adam (eps 1e-5) for the policy prior."""
    groups = [
        {"params": model._encoder.parameters(), "lr": lr * enc_lr_scale},
        {"params": model._dynamics.parameters()},
        {"params": model._reward.parameters()},
    ]
    if model._termination is not None:  # episodic: TD-MPC2's group order (after reward, before Q)
        groups.append({"params": model._termination.parameters()})
    groups.append({"params": model._Qs.parameters()})
    if model.multitask:
        groups.append({"params": model._task_emb.parameters()})
    return torch.optim.Adam(groups, lr=lr), torch.optim.Adam(model._pi.parameters(), lr=lr, eps=1e-5)


class TDMPC2Agent:
    """World model + optimisers + Q scale + planner. ``cfg`` is a mapping of the TD-MPC2 settings
    (``pwm/configs/tdmpc2.yaml``); ``discount`` a float or a per-task tensor."""

    def __init__(self, model: WorldModel, cfg, discount, device="cpu"):
        self.cfg, self.device = cfg, torch.device(device)
        self.model = model.to(self.device).eval()
        self.discount = torch.as_tensor(discount, dtype=torch.float32, device=self.device)
        self.optim, self.pi_optim = make_optimizers(self.model, float(cfg["lr"]), float(cfg["enc_lr_scale"]))
        self.scale = RunningScale(float(cfg["tau"]), self.device)
        self.planner = MPPIPlanner(self.model, PlannerConfig.from_mapping(cfg), self.discount)
        self._model_params = [p for n, p in self.model.named_parameters() if not n.startswith("_pi.")]
        self._pi_params = list(self.model._pi.parameters())

    def _batch_discount(self, task):
        if self.discount.ndim == 0:
            return self.discount
        return self.discount[task].unsqueeze(-1)  # [B, 1], broadcast over [H, B, 1]

    def update(self, batch: Batch) -> dict[str, float]:
        c, m = self.cfg, self.model
        task = batch.task if m.multitask else None
        m.train()
        losses = world_model_losses(m, batch, self._batch_discount(task), float(c["rho"]), task)
        total = (
            float(c["consistency_coef"]) * losses["consistency"]
            + float(c["reward_coef"]) * losses["reward"]
            + float(c["termination_coef"]) * losses["termination"]
            + float(c["value_coef"]) * losses["value"]
        )
        total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self._model_params, float(c["grad_clip_norm"]))
        self.optim.step()
        self.optim.zero_grad(set_to_none=True)
        pi_loss = policy_loss(m, losses["zs"].detach(), self.scale, float(c["rho"]), float(c["entropy_coef"]), task)
        pi_loss.backward()
        pi_grad_norm = torch.nn.utils.clip_grad_norm_(self._pi_params, float(c["grad_clip_norm"]))
        self.pi_optim.step()
        self.pi_optim.zero_grad(set_to_none=True)
        m.soft_update_target_Q(float(c["tau"]))
        m.eval()
        out = {k: losses[k] for k in ("consistency", "reward", "value", "termination")}
        out.update(
            total=total, pi_loss=pi_loss, grad_norm=grad_norm, pi_grad_norm=pi_grad_norm, pi_scale=self.scale.value
        )
        return {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in out.items()}

    @torch.no_grad()
    def act(self, obs, t0: bool = False, eval_mode: bool = False, task: int | None = None) -> torch.Tensor:
        """Action in [-1, 1] for one observation: MPPI if ``mpc``, else the policy prior."""
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        if self.cfg["mpc"]:
            return self.planner.plan(obs, task, t0=t0, eval_mode=eval_mode).cpu()
        m = self.model
        t = task if m.multitask else None
        z = m.encode(obs.unsqueeze(0), t)
        action, info = m.pi(z, t)
        return (info["mean"] if eval_mode else action)[0].cpu()

    # ---- checkpointing ----------------------------------------------------------------------
    # The policy loss also reaches the task embedding (pi and the detached Q read it). As in TD-MPC2,
    # that gradient is not cleared by the pi step and joins the next model step's gradient, so it
    # is part of the training state.
    def _carried_grad(self):
        return self.model._task_emb.weight.grad if self.model.multitask else None

    def state_dict(self) -> dict:
        grad = self._carried_grad()
        return {
            "optim": self.optim.state_dict(),
            "pi_optim": self.pi_optim.state_dict(),
            "scale": self.scale.state_dict(),
            "task_emb_grad": None if grad is None else grad.cpu().clone(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.optim.load_state_dict(state["optim"])
        self.pi_optim.load_state_dict(state["pi_optim"])
        self.scale.load_state_dict(state["scale"])
        if state.get("task_emb_grad") is not None:
            self.model._task_emb.weight.grad = state["task_emb_grad"].to(self.device)

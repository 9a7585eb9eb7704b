"""PWM's own single-task world-model loss and trainer (docs/reference-notes.md §1.1, §1.3).

Used for the differentiable (dflex-like) tasks, where PWM pre-trains its world model on offline
rollouts and fine-tunes it online. Unlike TD-MPC2's loss there is no Q or policy term and the
reward is a scalar regression (on ``rew_rms``-normalised rewards by default):

    loss = ( Σ_t γ^t MSE(ẑ_{t+1}, sg(h(o_{t+1})))  +  mean_{t,b} γ^t (R(ẑ_t, a_t) - r̃_t)² ) / H

with ẑ_0 = h(o_0), ẑ_{t+1} = d(ẑ_t, a_t) and r̃ the reward in the model's units (``reward_units``):
``rms``, the reference's clip((r - μ)/sqrt(σ² + 1e-5), ±5), or ``symlog``, sign(r)·log(1 + |r|) (TD-MPC2's
reward scale; PWM's multitask actor optimises symlog-scale rewards too). The actor and critic work in the same
units. ``rms`` divides by a std that, on early-terminating tasks, the fall penalties dominate: on the default's
hopper data (SHAC's rollouts, mean 0.91, std 3.99) the rewards of the 95% of steps that are not falls span a
normalised std of 0.14. ``symlog`` did not make the reference-sized model fit them better there;
a smaller model did (benchmarks/RESULTS.md, "Single-task PWM: the world model's reward fit"). The targets come
from the online encoder without gradient (no EMA network). The reward term is averaged over t and
the dynamics term summed, as in the reference, so the reward weighs ~H times less. Steps that a
batch flags invalid (``Batch.valid``: past the end of an episode shorter than H) add nothing; the
means keep their denominators, so full windows weigh as in the reference.
"""

from __future__ import annotations

import torch
from torch.nn.utils import clip_grad_norm_

from pwm.data.sampler import Batch
from pwm.math import symlog
from pwm.running_stats import RunningMeanStd
from pwm.world_model import WorldModel, WorldModelConfig

REWARD_UNITS = ("rms", "symlog")


def check_reward_units(units: str) -> str:
    """``units`` if it names reward units, else a ValueError naming the allowed ones."""
    if units not in REWARD_UNITS:
        raise ValueError(f"reward_units must be one of {', '.join(REWARD_UNITS)}, got {units!r}")
    return units


def reward_targets(reward: torch.Tensor, rew_rms: RunningMeanStd, units: str, clip: float = 5.0) -> torch.Tensor:
    """Real rewards -> the world model's reward units (``rms`` or ``symlog``, see the module docstring)."""
    if check_reward_units(units) == "rms":
        return rew_rms.normalize(reward, clip=clip)
    return symlog(reward)


def single_task_config(obs_dim: int, action_dim: int, cfg) -> WorldModelConfig:
    """The reference's ``pwm.yaml`` world model: encoder [enc_dim], dynamics/reward [mlp_dim]*2,
    SimNorm latent (``wm_latent_norm``: an ablation otherwise), scalar reward head (num_bins 0), no
    task embedding."""
    return WorldModelConfig(
        obs_dim=obs_dim,
        action_dim=action_dim,
        latent_dim=int(cfg.wm_latent_dim),
        enc_dim=int(cfg.wm_enc_dim),
        mlp_dim=int(cfg.wm_mlp_dim),
        num_enc_layers=2,
        num_q=2,
        num_bins=0,
        dropout=0.0,
        latent_norm=str(cfg.get("wm_latent_norm", "simnorm")),  # absent from hparams saved before it existed
    )


def world_model_loss(
    wm: WorldModel,
    batch: Batch,
    rew_rms: RunningMeanStd,
    gamma: float,
    reward_clip: float = 5.0,
    reward_units: str = "rms",
) -> tuple[torch.Tensor, dict[str, float]]:
    H = batch.action.shape[0]
    valid = torch.ones_like(batch.reward[..., 0]) if batch.valid is None else batch.valid[..., 0]  # [H, B]
    reward = reward_targets(batch.reward[..., 0], rew_rms, reward_units, reward_clip) * valid
    with torch.no_grad():
        targets = wm.encode(batch.obs[1:])
    z = wm.encode(batch.obs[0])
    dyn, rew = 0.0, 0.0
    for t in range(H):
        r_pred = wm.reward(z, batch.action[t])[..., 0]
        z = wm.next(z, batch.action[t])
        dyn = dyn + gamma**t * ((z - targets[t]).pow(2).mean(-1) * valid[t]).mean()
        rew = rew + gamma**t * ((r_pred - reward[t]).pow(2) * valid[t]).mean() / H
    total = (dyn + rew) / H
    return total, {
        "wm_loss": float(total.detach()),
        "dynamics_loss": float(dyn.detach()),
        "reward_loss": float(rew.detach()),
    }


class WorldModelTrainer:
    """Adam (default betas) with global-norm clipping; NaN gradients are zeroed as the reference does."""

    def __init__(
        self,
        wm: WorldModel,
        rew_rms: RunningMeanStd,
        lr: float,
        grad_norm: float,
        gamma: float,
        reward_clip: float = 5.0,
        reward_units: str = "rms",
    ):
        self.wm, self.rew_rms, self.grad_norm, self.gamma, self.reward_clip = wm, rew_rms, grad_norm, gamma, reward_clip
        self.reward_units = check_reward_units(reward_units)  # a bad name fails here, not at the first step
        self.params = [p for name, p in wm.named_parameters() if not name.startswith(("_Qs", "_pi"))]
        self.opt = torch.optim.Adam(self.params, lr=lr)

    @classmethod
    def from_config(cls, wm: WorldModel, rew_rms: RunningMeanStd, cfg, reward_units: str) -> WorldModelTrainer:
        """The trainer with the settings of ``pwm/configs/pwm.yaml`` (pre-training and online fine-tuning)."""
        return cls(
            wm,
            rew_rms,
            float(cfg.wm_lr),
            float(cfg.wm_grad_norm),
            float(cfg.gamma),
            float(cfg.reward_clip),
            reward_units,
        )

    def set_lr(self, lr: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = lr

    def step(self, batch: Batch, update_stats: bool = False) -> dict[str, float]:
        if update_stats:  # online fine-tuning keeps the reward statistics moving (docs/reference-notes.md §1.3)
            rewards = batch.reward if batch.valid is None else batch.reward[batch.valid > 0].unsqueeze(-1)
            self.rew_rms.update(rewards.reshape(-1, *self.rew_rms.mean.shape))
        loss, info = world_model_loss(self.wm, batch, self.rew_rms, self.gamma, self.reward_clip, self.reward_units)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        for p in self.params:
            if p.grad is not None:
                p.grad.nan_to_num_(0.0, 0.0, 0.0)
        info["wm_grad_norm"] = float(clip_grad_norm_(self.params, self.grad_norm))
        self.opt.step()
        return info

    def state_dict(self) -> dict:
        return {"opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.opt.load_state_dict(state["opt"])

"""TD-MPC2's implicit world model, reimplemented so TD-MPC2 checkpoints load into it unchanged.

PWM (its world model is TD-MPC2's, pre-trained with other losses: docs/reference-notes.md §1) uses this model's encoder, latent dynamics and reward head; the policy prior
and the Q ensemble are kept so whole TD-MPC2 checkpoints load strictly, reproduce the reference
outputs, and save back in the reference's own format.

The module layout is chosen for state-dict compatibility (see ``pwm.nn``): its ``state_dict()``
is exactly TD-MPC2's current format, including the ``_detach_Qs_params`` copy and the
tensordict ``__batch_size``/``__device`` entries. Unlike TD-MPC2, ``.to()`` does *not* re-clone
the target Q from the online Q (TD-MPC2 pitfall: moving a loaded model discards its EMA target).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn as nn

from pwm import math
from pwm.nn import SimNorm, StackedMLP, init_weights, mlp, run_layers

# TD-MPC2's named model sizes (millions of parameters) -> architecture settings.
MODEL_SIZES: dict[int, dict[str, int]] = {
    1: dict(enc_dim=256, mlp_dim=384, latent_dim=128, num_enc_layers=2, num_q=2),
    5: dict(enc_dim=256, mlp_dim=512, latent_dim=512, num_enc_layers=2, num_q=5),
    19: dict(enc_dim=1024, mlp_dim=1024, latent_dim=768, num_enc_layers=3, num_q=5),
    48: dict(enc_dim=1792, mlp_dim=1792, latent_dim=768, num_enc_layers=4, num_q=5),
    317: dict(enc_dim=4096, mlp_dim=4096, latent_dim=1376, num_enc_layers=5, num_q=8),
}


def task_dim_for(model_size: int | None, task_set: str | None) -> int:
    """TD-MPC2's task-embedding width: 0 single-task; 96 for mt80 or sizes 1/317; else 64."""
    if task_set is None:
        return 0
    return 96 if task_set == "mt80" or (model_size if model_size is not None else 5) in {1, 317} else 64


LATENT_NORMS = {
    "simnorm": "Linear -> LayerNorm -> SimNorm (TD-MPC2, PWM)",
    "layernorm": "Linear -> LayerNorm (an ablation: unit-scale latents, no simplex constraint)",
    "none": "Linear (an ablation: unnormalised latents)",
}


def latent_head_activation(cfg) -> nn.Module | None:
    """The activation :func:`pwm.nn.mlp` puts on the latent layer (``None``: a plain Linear head)."""
    if cfg.latent_norm not in LATENT_NORMS:
        raise ValueError(f"latent_norm {cfg.latent_norm!r} is not one of {', '.join(LATENT_NORMS)}")
    return {"simnorm": SimNorm(cfg.simnorm_dim), "layernorm": nn.Identity(), "none": None}[cfg.latent_norm]


@dataclass
class WorldModelConfig:
    """Architecture settings of a TD-MPC2 world model (the fields of TD-MPC2's config it reads).

    ``num_tasks == 0`` means single-task (no task embedding, no action masks). ``action_dims``
    lists each task's real action dimension; it defines the action masks (all ``action_dim``
    when omitted). ``latent_norm`` is the last layer of the encoder and the dynamics (see
    :data:`LATENT_NORMS`); anything but ``simnorm`` is an ablation, not TD-MPC2.
    """

    obs_dim: int
    action_dim: int
    latent_dim: int = 512
    enc_dim: int = 256
    mlp_dim: int = 512
    num_enc_layers: int = 2
    num_q: int = 5
    task_dim: int = 0
    num_tasks: int = 0
    action_dims: tuple[int, ...] | None = None
    num_bins: int = 101
    vmin: float = -10.0
    vmax: float = 10.0
    simnorm_dim: int = 8
    latent_norm: str = "simnorm"
    dropout: float = 0.01
    log_std_min: int = -10
    log_std_max: int = 2
    episodic: bool = False
    model_size: int | None = None

    @property
    def multitask(self) -> bool:
        return self.num_tasks > 0

    @classmethod
    def for_model_size(
        cls,
        model_size: int,
        obs_dim: int,
        action_dim: int,
        task_set: str | None = None,
        num_tasks: int = 0,
        **overrides,
    ) -> WorldModelConfig:
        """Settings of a named TD-MPC2 size; ``task_set`` ('mt30'/'mt80'/None) sets the task_dim rule
        and mt30-19M's smaller latent (512)."""
        if model_size not in MODEL_SIZES:
            raise ValueError(f"unknown model_size {model_size}; TD-MPC2 sizes are {sorted(MODEL_SIZES)}")
        arch = dict(MODEL_SIZES[model_size])
        if task_set == "mt30" and model_size == 19:
            arch["latent_dim"] = 512
        if task_set is not None and not num_tasks:
            num_tasks = {"mt30": 30, "mt80": 80}[task_set]
        if num_tasks and task_set is None:  # an unnamed task set follows mt30's rule (mt80 has 80 tasks)
            task_set = "mt80" if num_tasks == 80 else "mt30"
        arch["task_dim"] = task_dim_for(model_size, task_set) if num_tasks else 0
        arch.update(overrides)
        return cls(obs_dim=obs_dim, action_dim=action_dim, num_tasks=num_tasks, model_size=model_size, **arch)

    def replace(self, **changes) -> WorldModelConfig:
        return replace(self, **changes)


def action_masks(cfg: WorldModelConfig) -> torch.Tensor:
    """``[num_tasks, action_dim]``: 1 for each task's real action dims, 0 for the padding."""
    dims = cfg.action_dims or [cfg.action_dim] * cfg.num_tasks
    if len(dims) != cfg.num_tasks or max(dims) > cfg.action_dim:
        raise ValueError(f"action_dims {tuple(dims)} do not fit {cfg.num_tasks} tasks of action_dim {cfg.action_dim}")
    return (torch.arange(cfg.action_dim) < torch.tensor(dims).unsqueeze(1)).float()


class WorldModel(nn.Module):
    """Encoder, latent dynamics, reward, (termination), policy prior and Q ensemble of TD-MPC2.

    Inputs are concatenated as ``[z, task_embedding, action]``; ``task`` is ignored in
    single-task models and is an int or a LongTensor of task ids (broadcast over leading dims)
    in multitask ones.
    """

    def __init__(self, cfg: WorldModelConfig):
        super().__init__()
        if cfg.latent_norm == "simnorm" and cfg.latent_dim % cfg.simnorm_dim:
            raise ValueError(f"latent_dim {cfg.latent_dim} is not divisible by simnorm_dim {cfg.simnorm_dim}")
        self.cfg = cfg
        L, A, T, M, K = cfg.latent_dim, cfg.action_dim, cfg.task_dim, cfg.mlp_dim, max(cfg.num_bins, 1)
        if cfg.multitask:
            self._task_emb = nn.Embedding(cfg.num_tasks, T, max_norm=1)
            self.register_buffer("_action_masks", action_masks(cfg))
        elif T:
            raise ValueError("task_dim must be 0 for a single-task model (num_tasks=0)")
        enc_hidden = max(cfg.num_enc_layers - 1, 1) * [cfg.enc_dim]
        self._encoder = nn.ModuleDict({"state": mlp(cfg.obs_dim + T, enc_hidden, L, act=latent_head_activation(cfg))})
        self._dynamics = mlp(L + T + A, [M, M], L, act=latent_head_activation(cfg))
        self._reward = mlp(L + T + A, [M, M], K)
        self._termination = mlp(L + T, [M, M], 1) if cfg.episodic else None
        self._pi = mlp(L + T, [M, M], 2 * A)
        self._Qs = nn.ModuleDict({"params": StackedMLP(cfg.num_q, L + T + A, [M, M], K)})
        self._target_Qs_params = StackedMLP(cfg.num_q, L + T + A, [M, M], K, trainable=False)
        self.apply(init_weights)
        self._Qs.params.reset_parameters()
        with torch.no_grad():  # reward and Q logits start uniform
            self._reward[-1].weight.zero_()
            self._Qs.params.layers()[-1].weight.zero_()
        self.register_buffer("log_std_min", torch.tensor(cfg.log_std_min))
        self.register_buffer("log_std_dif", torch.tensor(cfg.log_std_max) - torch.tensor(cfg.log_std_min))
        self.copy_target_from_online()
        self._register_state_dict_hook(WorldModel._write_detach_copy)

    # ------------------------------------------------------------------ state-dict compatibility
    @staticmethod
    def _write_detach_copy(module, state_dict, prefix, local_metadata):
        """Emit TD-MPC2's ``_detach_Qs_params`` (same values as ``_Qs.params``) right after ``_Qs``."""
        online = prefix + "_Qs.params."
        items = list(state_dict.items())
        for k, _ in items:
            del state_dict[k]
        detach_written = False
        for k, v in items:
            if not detach_written and k.startswith(prefix + "_target_Qs_params."):
                for k2, v2 in items:
                    if k2.startswith(online):
                        state_dict[prefix + "_detach_Qs_params." + k2[len(online) :]] = (
                            v2.detach() if torch.is_tensor(v2) else v2
                        )
                detach_written = True
            state_dict[k] = v

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        """Drop the ``_detach_Qs_params`` copy (it shares the online Q's storage) after checking it is complete."""
        detach, online = prefix + "_detach_Qs_params.", prefix + "_Qs.params."
        detach_keys = {k[len(detach) :] for k in list(state_dict) if k.startswith(detach)}
        online_keys = {k[len(online) :] for k in state_dict if k.startswith(online)}
        if strict:
            missing_keys.extend(detach + k for k in sorted(online_keys - detach_keys))
            unexpected_keys.extend(detach + k for k in sorted(detach_keys - online_keys))
        for k in detach_keys:
            state_dict.pop(detach + k)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    # ------------------------------------------------------------------ bookkeeping
    @property
    def multitask(self) -> bool:
        return self.cfg.multitask

    @property
    def total_params(self) -> int:
        """Learnable parameters (each Q member once; target copy excluded), as TD-MPC2 counts them."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @torch.no_grad()
    def copy_target_from_online(self) -> None:
        for (_, t), (_, o) in zip(self._target_Qs_params.named_buffers(), self._Qs.params.named_parameters()):
            t.copy_(o)

    @torch.no_grad()
    def soft_update_target_Q(self, tau: float) -> None:
        """Polyak update: target <- target + tau·(online - target)."""
        targets = list(self._target_Qs_params.buffers())
        torch._foreach_lerp_(targets, [p.detach() for p in self._Qs.params.parameters()], tau)

    # ------------------------------------------------------------------ forward pieces
    def task_emb(self, x: torch.Tensor, task) -> torch.Tensor:
        """Concatenate the task embedding to ``x`` (identity for single-task models).

        The embedding has ``max_norm=1``: looked-up rows with norm > 1 are renormalised *in place*
        in the weight, as in TD-MPC2, so saved embeddings stay compatible."""
        if not self.multitask:
            return x
        task = self._task_tensor(task, x.device)
        emb = self._task_emb(task)
        return torch.cat([x, emb.expand(*x.shape[:-1], emb.shape[-1])], dim=-1)

    @staticmethod
    def _task_tensor(task, device) -> torch.Tensor:
        if task is None:
            raise ValueError("a multitask world model needs a task id")
        if isinstance(task, int):
            return torch.tensor([task], device=device)
        return task.long()

    def action_mask(self, task) -> torch.Tensor | None:
        """1 for a task's real action dims, 0 for padding (None for single-task models)."""
        if not self.multitask:
            return None
        return self._action_masks[self._task_tensor(task, self._action_masks.device)]

    def encode(self, obs: torch.Tensor, task=None) -> torch.Tensor:
        """Observation ``[..., obs_dim]`` -> latent ``[..., latent_dim]`` (SimNorm-ed unless ablated)."""
        return self._encoder["state"](self.task_emb(obs, task))

    def encode_for_action(self, obs: torch.Tensor, task=None) -> torch.Tensor:
        """:meth:`encode` without per-layer module calls, for acting under no_grad / inference mode."""
        return run_layers(self._encoder["state"], self.task_emb(obs, task))

    def next(self, z: torch.Tensor, a: torch.Tensor, task=None) -> torch.Tensor:
        """Latent dynamics: next latent from the current latent and action."""
        return self._dynamics(torch.cat([self.task_emb(z, task), a], dim=-1))

    def reward(self, z: torch.Tensor, a: torch.Tensor, task=None) -> torch.Tensor:
        """Reward logits ``[..., num_bins]`` of the transition (decode with ``math.two_hot_inv``)."""
        return self._reward(torch.cat([self.task_emb(z, task), a], dim=-1))

    def termination(self, z: torch.Tensor, task=None, unnormalized: bool = False) -> torch.Tensor:
        """Termination probability (or logit); exists only for ``episodic`` models."""
        if self._termination is None:
            raise RuntimeError("this world model was built without a termination head (episodic=False)")
        logit = self._termination(self.task_emb(z, task))
        return logit if unnormalized else torch.sigmoid(logit)

    def pi_dist(self, z: torch.Tensor, task=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Pre-tanh mean and log-std (squashed into [log_std_min, log_std_max]) of the policy prior.

        Not yet masked: :meth:`pi` zeroes the padded action dims of multitask models."""
        mean, raw = self._pi(self.task_emb(z, task)).chunk(2, dim=-1)
        return mean, math.squash_log_std(raw, self.log_std_min, self.log_std_dif)

    def pi(self, z: torch.Tensor, task=None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Sample a tanh-squashed action from the policy prior; returns ``(action, info)``.

        ``info`` has ``mean`` (tanh), ``log_std``, ``entropy`` (-log prob) and TD-MPC2's
        ``scaled_entropy`` (entropy rescaled to the number of real action dims)."""
        mean, log_std = self.pi_dist(z, task)
        eps = torch.randn_like(mean)
        mask = self.action_mask(task)
        if mask is not None:
            mean, log_std, eps = mean * mask, log_std * mask, eps * mask
            size = mask.sum(-1, keepdim=True)
        else:
            size = eps.shape[-1]
        log_prob = math.gaussian_logprob(eps, log_std)
        scaled_log_prob = log_prob * size
        action = mean + eps * log_std.exp()
        mean, action, log_prob = math.squash(mean, action, log_prob)
        entropy_scale = scaled_log_prob / (log_prob + 1e-8)
        info = {"mean": mean, "log_std": log_std, "entropy": -log_prob, "scaled_entropy": -log_prob * entropy_scale}
        return action, info

    def Q(
        self,
        z: torch.Tensor,
        a: torch.Tensor,
        task=None,
        return_type: str = "min",
        target: bool = False,
        detach: bool = False,
    ) -> torch.Tensor:
        """State-action value.

        ``return_type='all'``: logits of every member ``[num_q, ..., num_bins]``. ``'min'``/``'avg'``:
        decoded values ``[..., 1]`` of two randomly chosen members, min or mean. ``target`` uses the
        EMA copy (never dropout); ``detach`` uses the online weights without gradient, so a policy
        loss reaches only the action.
        """
        if return_type not in {"min", "avg", "all"}:
            raise ValueError(f"return_type must be 'min', 'avg' or 'all', got {return_type!r}")
        x = torch.cat([self.task_emb(z, task), a], dim=-1)
        # 'min'/'avg' use two random members, so only those two are run (not all num_q).
        pair = None if return_type == "all" else torch.randperm(self.cfg.num_q, device=x.device)[:2]
        if target:
            logits = self._target_Qs_params(x, members=pair)
        else:
            logits = self._Qs.params(x, dropout=self.cfg.dropout if self.training else 0.0, detach=detach, members=pair)
        if return_type == "all":
            return logits
        q = math.two_hot_inv(logits, self.cfg.vmin, self.cfg.vmax, self.cfg.num_bins)
        return q.min(0).values if return_type == "min" else q.sum(0) / 2

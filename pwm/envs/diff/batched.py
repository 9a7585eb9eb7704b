"""A batch of differentiable envs in torch: ``reset()``, ``step(actions)`` -> obs, reward, done, info.

With grad enabled and actions (or the carried state) requiring grad, obs and reward are
differentiable w.r.t. the actions and the previous state through ``PhysicsStep``; otherwise the
step takes the gradient-free path (``mj_step`` only), which is what evaluation and data collection
use. The state is carried as torch tensors (qpos, qvel in float64) so that a graph can span many
steps; ``detach()`` cuts it, as dflex's ``initialize_trajectory`` does at each SHAC window.

Episode bookkeeping follows dflex: a done env is reset inside ``step`` and the returned obs is the
new episode's first obs, while ``info["obs_before_reset"]`` keeps the final obs (with its graph).
``info["terminated"]`` marks early termination and blown-up simulations (the NaN guard: their
reward is 0), ``info["truncated"]`` the time limit; ``done`` is their union.
"""

from __future__ import annotations

import torch

from pwm.envs.diff.autograd import physics_step
from pwm.envs.diff.backend import DIVERGENCE_LIMIT, MujocoFDBackend, PhysicsBackend
from pwm.envs.diff.models import DEFAULT_SUBSTEPS
from pwm.envs.diff.task import DiffTask
from pwm.envs.diff.tasks import get_task


def make_backend(name: str, task: DiffTask, substeps: int, threads: int) -> PhysicsBackend:
    if name == "mujoco-fd":
        return MujocoFDBackend(task.build_model(substeps), substeps, threads=threads)
    raise ValueError(f"unknown physics backend {name!r}; available: mujoco-fd")


def check_num_envs(num_envs) -> None:
    """ValueError unless ``num_envs`` is a positive int (a batched env's size; DiffEnv's and DflexEnv's check)."""
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")


def check_actions(actions, num_envs: int, act_dim: int) -> None:
    """ValueError unless ``actions`` is a tensor of shape (num_envs, act_dim) (both batched envs' ``step``)."""
    if not torch.is_tensor(actions) or actions.shape != (num_envs, act_dim):
        shape = tuple(actions.shape) if torch.is_tensor(actions) else type(actions).__name__
        raise ValueError(f"actions must be a tensor of shape ({num_envs}, {act_dim}), got {shape}")


class DiffEnv:
    def __init__(
        self,
        task: str | DiffTask,
        num_envs: int,
        seed: int = 0,
        threads: int = 1,
        substeps: int = DEFAULT_SUBSTEPS,
        backend: str = "mujoco-fd",
        stochastic_init: bool = True,
        early_termination: bool | None = None,
        dtype: torch.dtype = torch.float32,
    ):
        check_num_envs(num_envs)
        self.task = get_task(task) if isinstance(task, str) else task
        self.backend = make_backend(backend, self.task, substeps, threads)
        self.num_envs = num_envs
        self.obs_dim, self.act_dim = self.task.obs_dim, self.task.act_dim
        self.episode_length = self.task.episode_length
        self.stochastic_init = stochastic_init
        self.early_termination = self.task.early_termination if early_termination is None else early_termination
        self.generator = torch.Generator().manual_seed(int(seed))
        self.dtype = dtype  # of obs, reward and actions (float64 for finite-difference checks)
        self.device = torch.device("cpu")  # MuJoCo runs on the CPU
        self.qpos = self.qvel = self.action = self.progress = None
        self.obs = None

    # ---- state -------------------------------------------------------------------------------
    def _initial(self, n: int):
        if self.stochastic_init:
            return self.task.init_noise(n, self.generator)
        qpos, qvel = self.task.start_state()
        return qpos.expand(n, -1).clone(), qvel.expand(n, -1).clone()

    def reseed(self, seed: int) -> None:
        """Restart this env's RNG (its initial states) from ``seed``."""
        self.generator.manual_seed(int(seed))

    def reset(self, n: int | None = None) -> torch.Tensor:
        """Start every env (``n`` of them if given) in a fresh episode; returns obs [N, obs_dim]."""
        if n is not None:
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"n must be a positive int, got {n!r}")
            self.num_envs = n
        self.qpos, self.qvel = self._initial(self.num_envs)
        self.action = torch.zeros(self.num_envs, self.act_dim, dtype=self.dtype)
        self.progress = torch.zeros(self.num_envs, dtype=torch.long)
        self.obs = self._observe(self.qpos, self.qvel, self.action)
        return self.obs

    def _observe(self, qpos, qvel, action):
        return self.task.observe(qpos, qvel, action).to(self.dtype)

    def detach(self) -> torch.Tensor:
        """Cut the autograd graph at the current state (a SHAC window start); returns the obs."""
        self.qpos, self.qvel = self.qpos.detach(), self.qvel.detach()
        self.action, self.obs = self.action.detach(), self.obs.detach()
        return self.obs

    def get_state(self) -> dict:
        return {k: getattr(self, k).detach().clone() for k in ("qpos", "qvel", "action", "progress")} | {
            "generator": self.generator.get_state()
        }

    def set_state(self, state: dict) -> None:
        self.qpos, self.qvel = state["qpos"].clone(), state["qvel"].clone()
        self.action, self.progress = state["action"].clone(), state["progress"].clone()
        self.num_envs = self.qpos.shape[0]
        self.generator.set_state(state["generator"])
        self.obs = self._observe(self.qpos, self.qvel, self.action)

    # ---- stepping ------------------------------------------------------------------------------
    def step(self, actions: torch.Tensor):
        if self.qpos is None:
            raise RuntimeError("call reset() before step()")
        check_actions(actions, self.num_envs, self.act_dim)
        action = torch.clip(actions.to(self.dtype), -1.0, 1.0)
        differentiable = torch.is_grad_enabled() and (
            action.requires_grad or self.qpos.requires_grad or self.qvel.requires_grad
        )
        ctrl = self.task.control(action).to(torch.float64)
        qpos, qvel, diverged = physics_step(self.qpos, self.qvel, ctrl, self.backend, differentiable)
        self.progress = self.progress + 1
        obs64 = self.task.observe(qpos, qvel, action)
        reward = self.task.reward(obs64, action.to(torch.float64)).to(self.dtype)
        obs = obs64.to(self.dtype)

        invalid = diverged | ~torch.isfinite(obs).all(-1) | (obs.abs() > DIVERGENCE_LIMIT).any(-1)
        reward = torch.where(invalid, torch.zeros_like(reward), reward)
        terminated = invalid.clone()
        if self.early_termination:
            terminated |= self.task.terminated(obs)
        truncated = (self.progress >= self.episode_length) & ~terminated
        done = terminated | truncated
        info = {
            "obs_before_reset": obs,
            "terminated": terminated,
            "truncated": truncated,
            "invalid": invalid,
            "episode_length": self.progress.clone(),
        }

        if done.any():
            ids = done.nonzero().squeeze(-1)
            q0, v0 = self._initial(len(ids))
            qpos, qvel, action = qpos.clone(), qvel.clone(), action.clone()
            qpos[ids] = q0.to(qpos)
            qvel[ids] = v0.to(qvel)
            action[ids] = 0.0
            self.progress = self.progress.clone()
            self.progress[ids] = 0
            obs = obs.clone()
            obs[ids] = self._observe(q0, v0, action[ids].detach())
        self.qpos, self.qvel, self.action, self.obs = qpos, qvel, action, obs
        return obs, reward, done, info

    def close(self) -> None:
        self.backend.close()

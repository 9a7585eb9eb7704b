"""dflex's environments behind the interface of ``pwm.envs.diff.DiffEnv``, so SHAC and PWM use them unchanged.

What stays dflex's (the fork imgeorgiev/DiffRL): observations, rewards (the fork's ``DFlexEnv.step`` scores
the observation *before* the step), early termination, resets (a done env restarts inside ``step``;
``info["obs_before_reset"]`` keeps the final obs with its graph), stochastic initial states, float32 state,
and the gradient: dflex's adjoint kernels through ``torch.autograd``.

What the adapter adds:
- dflex's adjoint tape is global (``dflex.config.no_grad``). Each ``step`` sets it: on when the step is
  differentiable (grad enabled, and the actions or the carried state require grad), off otherwise, which
  is dflex's in-place, tape-free path. So an evaluation env and a training env can live in one process.
- dflex draws its initial states from torch's global RNG. Each env keeps its own RNG state (seeded by
  ``seed``) and swaps it in around every dflex call, so an env's episodes depend on its seed only, not on
  the policy's sampling, and ``get_state`` / ``set_state`` resume them exactly.
- The NaN guard of the MuJoCo tasks: an env whose observation or reward is not finite, or whose observation
  leaves +-DIVERGENCE_LIMIT, gets reward 0, is ``terminated`` (and ``invalid``) and restarts.
- The info keys of DiffEnv: ``terminated``, ``truncated`` (the time limit, not also terminated),
  ``invalid`` and ``episode_length``.
"""

from __future__ import annotations

import contextlib
import importlib

import torch

from pwm.envs.dflex.availability import missing_message
from pwm.envs.dflex.tasks import DFLEX_ENVS
from pwm.envs.diff.backend import DIVERGENCE_LIMIT
from pwm.envs.diff.batched import check_actions, check_num_envs


def load_dflex(task: str):
    """(the dflex module, the task's environment class); ImportError saying what to install."""
    if task not in DFLEX_ENVS:
        raise ValueError(f"unknown dflex task {task!r}; available: {', '.join(DFLEX_ENVS)}")
    try:
        dflex = importlib.import_module("dflex")
        envs = importlib.import_module("dflex.envs")
    except ImportError as err:
        raise ImportError(f"{missing_message(task)} (import failed: {err})") from err
    return dflex, getattr(envs, DFLEX_ENVS[task][0])


class DflexEnv:
    """A batch of ``num_envs`` dflex envs of ``task`` on ``device``; see the module doc."""

    def __init__(
        self,
        task: str,
        num_envs: int,
        seed: int = 0,
        device: str | torch.device = "cpu",
        stochastic_init: bool = True,
    ):
        check_num_envs(num_envs)
        self._dflex, cls = load_dflex(task)
        self.device = torch.device(device)
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.reseed(seed)
        settings = dict(DFLEX_ENVS[task][1])
        with self._own_rng():
            self._env = cls(
                num_envs=num_envs,
                device=str(self.device),
                no_grad=False,
                stochastic_init=stochastic_init,
                render=False,
                **settings,
            )
        self.num_envs = num_envs
        self.obs_dim, self.act_dim = int(self._env.num_obs), int(self._env.num_acts)
        self.episode_length = int(self._env.episode_length)
        self.dtype = torch.float32
        self.obs = None

    # ---- RNG ---------------------------------------------------------------------------------------
    def reseed(self, seed: int) -> None:
        """Restart this env's RNG (its initial states) from ``seed``."""
        self._cpu_rng = torch.Generator().manual_seed(int(seed)).get_state()
        self._cuda_rng = (
            torch.Generator(self.device).manual_seed(int(seed)).get_state() if self.device.type == "cuda" else None
        )

    @contextlib.contextmanager
    def _own_rng(self):
        cuda = [self.device] if self._cuda_rng is not None else []
        with torch.random.fork_rng(devices=cuda):
            torch.set_rng_state(self._cpu_rng)
            if cuda:
                torch.cuda.set_rng_state(self._cuda_rng, self.device)
            try:
                yield
            finally:
                self._cpu_rng = torch.get_rng_state()
                if cuda:
                    self._cuda_rng = torch.cuda.get_rng_state(self.device)

    # ---- state ---------------------------------------------------------------------------------------
    def reset(self, n: int | None = None) -> torch.Tensor:
        """Start every env in a fresh episode; returns obs [N, obs_dim]. dflex fixes N at construction."""
        if n is not None and n != self.num_envs:
            raise ValueError(f"a dflex env has the {self.num_envs} envs it was built with, got n={n!r}")
        with self._own_rng():
            self._env.reset()
        self.obs = self._env.initialize_trajectory()
        return self.obs

    def detach(self) -> torch.Tensor:
        """Cut the autograd graph at the current state (a SHAC window start); returns the obs."""
        self.obs = self._env.initialize_trajectory()
        return self.obs

    def get_state(self) -> dict:
        state = self._env.get_checkpoint()  # copies already
        return (
            {k: v.detach() for k, v in state.items()}
            | {"rng": self._cpu_rng.clone()}
            | ({"cuda_rng": self._cuda_rng.clone()} if self._cuda_rng is not None else {})
        )

    def set_state(self, state: dict) -> None:
        keys = ("joint_q", "joint_qd", "joint_act", "progress_buf")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(f"not a dflex env state: it lacks {missing} (a MuJoCo task's state?)")
        if state["progress_buf"].shape[0] != self.num_envs:
            raise ValueError(f"state of {state['progress_buf'].shape[0]} envs for a dflex env of {self.num_envs}")
        self._env.clear_grad({k: state[k].to(self.device, copy=True) for k in keys})
        self._cpu_rng = state["rng"].clone()
        if self._cuda_rng is not None and "cuda_rng" in state:
            self._cuda_rng = state["cuda_rng"].clone()
        self.obs = self._env.initialize_trajectory()

    # ---- stepping ------------------------------------------------------------------------------------
    def step(self, actions: torch.Tensor):
        if self.obs is None:
            raise RuntimeError("call reset() before step()")
        check_actions(actions, self.num_envs, self.act_dim)
        env = self._env
        actions = actions.to(self.device, torch.float32)
        carried = env.state.joint_q.requires_grad or env.state.joint_qd.requires_grad
        self._dflex.config.no_grad = not (torch.is_grad_enabled() and (actions.requires_grad or carried))
        length = env.progress_buf + 1  # this step's place in its episode (dflex zeroes it when it resets)
        with self._own_rng():
            obs, reward, done, extras = env.step(actions)
        final = extras["obs_before_reset"]
        terminated = extras["termination"].clone()
        invalid = ~torch.isfinite(final).all(-1) | (final.abs() > DIVERGENCE_LIMIT).any(-1) | ~torch.isfinite(reward)
        if invalid.any():
            reward = torch.where(invalid, torch.zeros_like(reward), reward)
            restart = (invalid & ~done).nonzero().squeeze(-1)
            terminated |= invalid
            if len(restart):
                with self._own_rng():
                    env.reset(restart)
                obs = env.obs_buf
        truncated = extras["truncation"] & ~terminated
        info = {
            "obs_before_reset": final,
            "terminated": terminated,
            "truncated": truncated,
            "invalid": invalid,
            "episode_length": length,
        }
        self.obs = obs
        return obs, reward, terminated | truncated, info

    def close(self) -> None:
        self._env = None

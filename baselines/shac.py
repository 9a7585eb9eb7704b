"""SHAC (Xu et al., 2022): short-horizon actor-critic through a differentiable simulator.

Two presets, chosen by the hyperparameter ``preset`` (``PRESETS``; default ``diffrl``; every default
in ``baselines/configs/shac.yaml``):
``diffrl`` is NVlabs/DiffRL's SHAC (described first, below); ``pwm`` is the SHAC of the PWM
repository (imgeorgiev/PWM ``src/pwm/algorithms/shac.py`` with ``scripts/cfg/alg/shac.yaml`` and
the ``shac:`` blocks of ``scripts/cfg/env/dflex_*.yaml``; docs/reference-notes.md §4.1), which produced the
PWM paper's SHAC curves (see "The ``pwm`` preset" below).

The ``diffrl`` preset follows DiffRL's ``algorithms/shac.py`` (docs/reference-notes.md §4.2):
- each iteration rolls all envs forward ``horizon`` (32) steps with tanh(reparameterised actor
  samples); the actor loss is minus the discounted reward sum plus γ^t·V̄(s_T) at the window end
  (and at every episode end inside the window), averaged over horizon × envs, and is
  back-propagated through the simulator (``pwm.envs.diff``). A value is 0 after early
  termination or a blown-up simulation, and V̄(final obs) after a time-limit truncation;
- observations are normalised with a running mean/std that is frozen for each window;
- the critic regresses TD(λ) targets (λ 0.95, γ 0.99; the window's last step counts as done),
  16 passes over 4 contiguous minibatches; a target critic is Polyak-averaged once per iteration;
- Adam with betas (0.7, 0.95), learning rates decaying linearly to 1e-5, gradients clipped to
  norm 1; NaN gradients are zeroed (critic) or the actor step is skipped (DiffRL raises instead).
  A non-finite actor or critic *loss*, or an exploded critic value, is divergence: the run stops
  with ``DivergedError`` before the next checkpoint, which therefore keeps finite weights.

Budget: ``run.settings.steps`` counts environment steps; one iteration consumes
``num_envs × horizon`` of them, so ``iterations = steps // (num_envs × horizon)`` (at least 1),
and the learning-rate schedule spans exactly those iterations. Evaluations (``run.evaluate``,
deterministic actions tanh(μ), on the gymnasium version of the task) happen at the first iteration
boundary at or after each scheduled step; evaluations scheduled past the last iteration use the
final policy. Defaults, per preset and task, are ``baselines/configs/shac.yaml``; any key can be
overridden through ``run.settings.hparams``.

The ``pwm`` preset (what differs from ``diffrl``; PWM file paths as above):
- networks: a Mish + LayerNorm actor [400, 200, 100] (log-std init -1, floor -10) and a 3-member
  Mish + LayerNorm critic ensemble [400, 200] (``alg/shac.yaml`` ``actor_config``,
  ``critic_config``, ``num_critics: 3``; ``shac_networks.py``). Every value SHAC uses, inside the
  actor loss and as the TD(λ) bootstrap, is the *minimum over the members* of the *live* critic
  (``self.critic(real_obs).min(dim=0)``): there is **no target critic** and no Polyak update (so
  no ``target_alpha``). The critic's weights receive no gradient from the actor loss here (PWM
  computes one and zeroes it before the critic step; the result is the same). Each member
  regresses the same targets: the loss is the squared error averaged over members and samples;
- observation normalisation clips to ±5 (``src/pwm/utils/running_mean_std.py`` ``normalize``),
  in training and in evaluation (``obs_clip: 5``);
- return normalisation (``ret_rms: True`` in ``alg/shac.yaml``): the per-env window loss (minus
  the sum of the window's bootstrapped discounted returns) updates a running mean/std, and the
  actor loss is that per-env loss divided by the running std, averaged over envs, instead of
  divided by ``horizon × num_envs``;
- critic gradients are clipped at norm 100 (``critic_grad_norm: 100.0``), the actor's at 1;
- learning rates actor 2e-3, critic 5e-4 for every env (``alg/shac.yaml`` defaults and every
  ``env/dflex_*.yaml`` ``shac:`` block); num_envs from the env yamls' ``config.num_envs``: ant
  128, hopper / anymal (here ``quadruped``) / humanoid / snu_humanoid (here ``muscle-legs``) 64,
  cartpole 1024. PWM has no cheetah config: cheetah gets the common values and 64 envs.
  ``max_epochs`` (hopper 2000, ant 2000, anymal 3000, humanoid 3000, snu 5000, cartpole 200) is a
  budget here: ``steps = epochs × num_envs × 32`` (workflow/configs/paper-single.yaml).
Kept from this file's ``diffrl`` behaviour where PWM differs: a non-finite actor gradient skips the
step (PWM raises), a non-finite final observation gets value 0 (PWM only warns), and the running
statistics ignore non-finite rows.

Files in the run directory besides the harness's: ``rollouts.pt``, the rollouts of the first
``dataset_envs`` training envs in TD-MPC2's dataset format (``pwm/data/rollouts.py``), for PWM's
single-task world-model pre-training.
"""

from __future__ import annotations

import copy
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from baselines.shac_networks import Actor, Critic, EnsembleCritic
from pwm import hparams as hp
from pwm.actor_critic import frozen
from pwm.data.rollouts import RolloutRecorder
from pwm.run import Run, log
from pwm.running_stats import RunningMeanStd
from pwm.training_loop import Cadence, Learner

# Task families this algorithm can train on (checked when the workflow's DAG is built).
TASK_FAMILIES = ("differentiable", "dflex")

PRESETS = ("diffrl", "pwm")  # the presets of baselines/configs/shac.yaml (tests/test_hparams.py checks)


def config_for(task: str, overrides: dict) -> dict:
    """The run's configuration from ``baselines/configs/shac.yaml`` (pwm.hparams): the common keys,
    the preset's (``overrides["preset"]``, default ``diffrl``), its block for ``task``, then
    ``overrides``, each key and type checked against that preset's defaults for ``task``."""
    tasks = hp.tasks_with_defaults("shac")
    if task not in tasks:
        raise ValueError(f"SHAC needs a differentiable task ({', '.join(tasks)}), got {task!r}")
    cfg = hp.resolve("shac", task, overrides)
    cfg["betas"] = tuple(cfg["betas"])
    return cfg


def check_hparams(task: str, hparams: dict, where: str = "") -> None:
    """``train``'s check before any env is built (:func:`config_for`). The workflow checks the same
    file through pwm.hparams when the DAG is built, without importing this module."""
    try:
        config_for(task, hparams)
    except ValueError as err:
        if not where:
            raise
        raise ValueError(f"{where}: {err}") from None


def td_lambda_targets(rewards, next_values, dones, gamma: float, lam: float) -> torch.Tensor:
    """TD(λ) targets [H, N] by DiffRL's backward A/B recursion; ``dones[-1]`` must be 1."""
    horizon, n = rewards.shape
    targets = torch.zeros_like(rewards)
    a = rewards.new_zeros(n)
    b = rewards.new_zeros(n)
    lam_t = rewards.new_ones(n)
    for i in reversed(range(horizon)):
        d = dones[i]
        lam_t = lam_t * lam * (1.0 - d) + d
        a = (1.0 - d) * (lam * gamma * a + gamma * next_values[i] + (1.0 - lam_t) / (1.0 - lam) * rewards[i])
        b = gamma * (next_values[i] * d + b * (1.0 - d)) + rewards[i]
        targets[i] = (1.0 - lam) * a + lam_t * b
    return targets


class SHAC:
    """The learner's state and one training iteration; ``train(run)`` drives it."""

    def __init__(self, task: str, cfg: dict, seed: int, threads: int, device: str = "cpu"):
        """``device``: dflex's (its tasks run there, and so do the networks); the MuJoCo tasks run on the CPU."""
        from pwm.envs.batched import make_batched_env

        self.cfg = cfg
        torch.manual_seed(seed)  # also when built outside a run (a run has seeded every stream already)
        self.env = make_batched_env(
            task, cfg["num_envs"], seed=seed, threads=threads, device=device, substeps=cfg["substeps"]
        )
        self.device = self.env.device
        obs_dim, act_dim = self.env.obs_dim, self.env.act_dim
        self.preset = cfg["preset"]
        if self.preset == "pwm":
            self.actor = Actor(
                obs_dim,
                act_dim,
                cfg["actor_hidden"],
                cfg["logstd_init"],
                activation="mish",
                min_logstd=cfg["min_logstd"],
            )
            self.critic = EnsembleCritic(obs_dim, cfg["critic_hidden"], members=cfg["num_critics"])
            self.target_critic = None  # values come from the live critic
        else:
            self.actor = Actor(obs_dim, act_dim, cfg["actor_hidden"], cfg["logstd_init"])
            self.critic = Critic(obs_dim, cfg["critic_hidden"])
        self.actor.to(self.device)
        self.critic.to(self.device)
        if self.preset != "pwm":
            self.target_critic = copy.deepcopy(self.critic).requires_grad_(False)
        self.obs_rms = RunningMeanStd(obs_dim).to(self.device)
        self.ret_rms = RunningMeanStd(()).to(self.device) if cfg["ret_rms"] else None
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg["actor_lr"], betas=cfg["betas"])
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg["critic_lr"], betas=cfg["betas"])
        self.iteration = 0
        self.episode_return = torch.zeros(cfg["num_envs"])
        self.episode_returns: list[float] = []  # finished training episodes (for progress lines)
        self.recorder = RolloutRecorder(min(cfg["dataset_envs"], cfg["num_envs"]), cfg["dataset_segment"])
        self.recorder.start(self.env.reset())

    # ---- acting ----------------------------------------------------------------------------------
    def normalize(self, rms: RunningMeanStd, obs: torch.Tensor) -> torch.Tensor:
        """Normalised observations, clipped to ±``obs_clip`` when it is set (``pwm``: 5)."""
        return rms.normalize(obs, clip=self.cfg["obs_clip"])

    def value(self, obs_n: torch.Tensor) -> torch.Tensor:
        """The value SHAC bootstraps with: the target critic (``diffrl``) or the min over the live
        ensemble (``pwm``), ``[...]`` for normalised ``obs_n [..., D]``."""
        if self.target_critic is not None:
            return self.target_critic(obs_n)
        return self.critic.min_value(obs_n)

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Deterministic policy for evaluation: tanh(μ(normalised obs))."""
        obs = torch.as_tensor(obs, dtype=torch.float32, device=self.device).unsqueeze(0)
        x = self.normalize(self.obs_rms, obs)
        return torch.tanh(self.actor(x.float(), deterministic=True))[0].cpu().numpy()

    # ---- one iteration -----------------------------------------------------------------------------
    def _set_learning_rates(self, total_iterations: int) -> None:
        frac = min(self.iteration / max(total_iterations, 1), 1.0)
        for opt, lr0 in ((self.actor_opt, self.cfg["actor_lr"]), (self.critic_opt, self.cfg["critic_lr"])):
            for group in opt.param_groups:
                group["lr"] = lr0 + (self.cfg["min_lr"] - lr0) * frac

    def _actor_loss(self):
        """The window's actor loss (with its graph through the simulator) and the critic's data."""
        # pwm: the live critic passes gradients to its inputs but gets none itself from this loss
        with frozen(self.critic) if self.target_critic is None else nullcontext():
            return self._rollout_window()

    def _rollout_window(self):
        cfg, env = self.cfg, self.env
        horizon, n, gamma = cfg["horizon"], env.num_envs, cfg["gamma"]
        rms = copy.deepcopy(self.obs_rms)  # frozen for this window
        obs = env.detach()
        self.obs_rms.update(obs)
        obs_n = self.normalize(rms, obs)
        on = dict(device=self.device)
        obs_buf = torch.zeros(horizon, n, env.obs_dim, **on)
        rew_buf = torch.zeros(horizon, n, **on)
        done_buf = torch.zeros(horizon, n, **on)
        next_values = torch.zeros(horizon, n, **on)
        rew_acc = torch.zeros(n, **on)
        gamma_t = torch.ones(n, **on)
        loss = torch.zeros((), **on)
        per_env = torch.zeros(n, **on)  # ret_rms: each env's window loss
        for i in range(horizon):
            obs_buf[i] = obs_n.detach()
            action = torch.tanh(self.actor(obs_n))
            obs, reward, done, info = env.step(action)
            self.obs_rms.update(obs)
            obs_n = self.normalize(rms, obs)
            value = self.value(obs_n)
            if done.any():
                final = info["obs_before_reset"]
                boot = info["truncated"] & torch.isfinite(final).all(-1)
                value_final = self.value(self.normalize(rms, torch.nan_to_num(final)))
                value = torch.where(done, torch.where(boot, value_final, torch.zeros_like(value)), value)
            if not torch.isfinite(value.detach()).all() or value.detach().abs().max() > 1e6:
                raise FloatingPointError(f"SHAC: critic value exploded at iteration {self.iteration}")
            rew_acc = rew_acc + gamma_t * reward
            ends = done if i < horizon - 1 else torch.ones_like(done)
            returns = torch.where(ends, rew_acc + gamma * gamma_t * value, torch.zeros_like(rew_acc))
            if self.ret_rms is None:
                loss = loss - returns.sum()
            else:
                per_env = per_env - returns
            gamma_t = torch.where(done, torch.ones_like(gamma_t), gamma_t * gamma)
            rew_acc = torch.where(done, torch.zeros_like(rew_acc), rew_acc)
            with torch.no_grad():
                rew_buf[i] = reward
                done_buf[i] = done.float() if i < horizon - 1 else 1.0
                next_values[i] = value
                self._track_episodes(reward, done)
                self.recorder.record(action, reward, obs, info["obs_before_reset"], done, info["terminated"])
        if self.ret_rms is None:
            loss = loss / (horizon * n)
        else:  # PWM: update ret_rms with the per-env losses, divide by the running std, mean over envs
            self.ret_rms.update(per_env)
            loss = (per_env / self.ret_rms.std().to(per_env.dtype)).mean()
        return loss, obs_buf, rew_buf, done_buf, next_values

    def _track_episodes(self, reward, done) -> None:
        self.episode_return += torch.nan_to_num(reward.detach().cpu())
        for i in done.cpu().nonzero().squeeze(-1).tolist():
            self.episode_returns.append(float(self.episode_return[i]))
            self.episode_return[i] = 0.0
        del self.episode_returns[:-100]

    def _fit_critic(self, obs_buf, targets) -> float:
        cfg = self.cfg
        obs, targets = obs_buf.reshape(-1, obs_buf.shape[-1]), targets.reshape(-1)
        batches = list(zip(obs.chunk(cfg["num_batch"]), targets.chunk(cfg["num_batch"])))
        last = float("nan")
        for _ in range(cfg["critic_iterations"]):
            total = 0.0
            for x, y in batches:
                loss = ((self.critic(x) - y) ** 2).mean()
                self.critic_opt.zero_grad(set_to_none=True)
                loss.backward()
                for p in self.critic.parameters():
                    if p.grad is not None:
                        torch.nan_to_num_(p.grad, 0.0, 0.0, 0.0)
                torch.nn.utils.clip_grad_norm_(self.critic.parameters(), cfg["critic_grad_norm"])
                self.critic_opt.step()
                total += float(loss.detach())
            last = total / len(batches)
        return last

    def iterate(self, total_iterations: int) -> dict:
        cfg = self.cfg
        self._set_learning_rates(total_iterations)
        start = time.time()
        loss, obs_buf, rew_buf, done_buf, next_values = self._actor_loss()
        self.actor_opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.actor.parameters(), cfg["grad_norm"]))
        skipped = not np.isfinite(grad_norm) or grad_norm > 1e6
        if skipped:
            log(f"[shac] iteration {self.iteration}: actor gradient norm {grad_norm}; step skipped")
        else:
            self.actor_opt.step()
        actor_time = time.time() - start
        with torch.no_grad():
            targets = td_lambda_targets(rew_buf, next_values, done_buf, cfg["gamma"], cfg["lam"])
        critic_loss = self._fit_critic(obs_buf, targets)
        if self.target_critic is not None:
            with torch.no_grad():
                alpha = cfg["target_alpha"]
                for p_t, p in zip(self.target_critic.parameters(), self.critic.parameters()):
                    p_t.mul_(alpha).add_(p, alpha=1.0 - alpha)
        self.iteration += 1
        return dict(
            actor_loss=float(loss.detach()),
            critic_loss=critic_loss,
            grad_norm=grad_norm,
            skipped=skipped,
            actor_time=actor_time,
            time=time.time() - start,
        )

    # ---- checkpoint --------------------------------------------------------------------------------
    def modules(self) -> dict[str, torch.nn.Module]:
        """The networks (``target_critic`` only for ``diffrl``), e.g. for the finite-weights check."""
        modules = {"actor": self.actor, "critic": self.critic}
        if self.target_critic is not None:
            modules["target_critic"] = self.target_critic
        return modules

    def state_dict(self) -> dict:
        """Everything a resumed run needs, copied (module state_dicts alias the live tensors).
        ``target_critic`` only for ``diffrl``, ``ret_rms`` only when it is on."""
        state = {
            "preset": self.preset,
            "iteration": self.iteration,
            **{name: module.state_dict() for name, module in self.modules().items()},
            "obs_rms": self.obs_rms.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "env": self.env.get_state(),
            "torch_rng": torch.get_rng_state(),
            "episode_return": self.episode_return,
            "episode_returns": self.episode_returns,
            "recorder": self.recorder.state_dict(),
        }
        if self.ret_rms is not None:
            state["ret_rms"] = self.ret_rms.state_dict()
        return copy.deepcopy(state)

    def load_state_dict(self, state: dict) -> None:
        saved = state.get("preset", "diffrl")  # checkpoints from before the presets are diffrl's
        if saved != self.preset:
            raise ValueError(f"SHAC checkpoint is of preset {saved!r}, this run's is {self.preset!r}")
        self.iteration = int(state["iteration"])
        for name, module in self.modules().items():
            module.load_state_dict(state[name])
        self.obs_rms.load_state_dict(state["obs_rms"])
        if self.ret_rms is not None:
            self.ret_rms.load_state_dict(state["ret_rms"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.env.set_state(state["env"])
        torch.set_rng_state(state["torch_rng"])
        self.episode_return = state["episode_return"]
        self.episode_returns = list(state["episode_returns"])
        self.recorder.load_state_dict(state["recorder"])


class SHACLearner(Learner):
    """The loop's view of :class:`SHAC`: one iteration per training step, ``step`` in env steps."""

    checked = ("actor_loss", "critic_loss")

    def __init__(self, agent: SHAC, total_iterations: int, dataset_path: Path, description: str):
        self.agent, self.total, self.dataset_path, self.description = agent, total_iterations, dataset_path, description
        self.per_iteration = agent.cfg["num_envs"] * agent.cfg["horizon"]
        self.policy = agent.act

    @property
    def env_steps(self) -> int:
        return self.step

    @property
    def train_return(self) -> float | None:
        recent = self.agent.episode_returns[-20:]
        return float(np.mean(recent)) if recent else None

    def start_line(self) -> str:
        return self.description

    def done(self) -> bool:
        return self.agent.iteration >= self.total

    def train_step(self) -> dict:
        self.step = (self.agent.iteration + 1) * self.per_iteration
        stats = self.agent.iterate(self.total)
        self.step = self.agent.iteration * self.per_iteration
        self.last = stats
        return stats

    def progress_line(self, means, rate: float) -> str:
        stats = self.last
        return (
            f"[shac] iteration {self.agent.iteration}/{self.total} actor_loss={stats['actor_loss']:.3f} "
            f"critic_loss={stats['critic_loss']:.3f} grad_norm={stats['grad_norm']:.3g} "
            f"iteration_s={stats['time']:.2f} (actor {stats['actor_time']:.2f})"
        )

    def modules(self) -> dict:
        return self.agent.modules()

    def state_dict(self) -> dict:
        return {"shac": self.agent.state_dict(), "config": self.agent.cfg}

    def load_state_dict(self, state: dict) -> None:
        self.agent.load_state_dict(state["shac"])
        self.step = self.agent.iteration * self.per_iteration

    def write_outputs(self, final: bool) -> None:
        """``rollouts.pt``: the finished rows so far (the last checkpoint's: also the unfinished ones)."""
        rows = self.agent.recorder.save(self.dataset_path, include_unfinished=final)
        if final:
            segment = self.agent.cfg["dataset_segment"]
            log(
                f"[shac] wrote {rows} dataset rows of {segment} transitions -> {self.dataset_path}"
                if rows
                else "[shac] no complete dataset row to write"
            )


def train(run: Run) -> None:
    s = run.settings
    from pwm.envs.suites import task_family

    if s.device != "cpu" and task_family(s.task) != "dflex":
        log(f"[shac] device {s.device!r} requested; the MuJoCo backend runs on the CPU")
    check_hparams(s.task, s.hparams)  # types too (num_envs: "8"), before any env is built
    cfg = config_for(s.task, s.hparams)
    # The networks are small: torch gets one thread and the run's thread budget goes to the physics
    # pool. (Torch's OpenMP workers spin-wait between ops and would compete with the pool.)
    torch.set_num_threads(1)
    per_iteration = cfg["num_envs"] * cfg["horizon"]
    total_iterations = max(1, s.steps // per_iteration)
    description = (
        f"training shac on {s.task} (seed {s.seed}) for {total_iterations} iterations of "
        f"{cfg['num_envs']} envs x {cfg['horizon']} steps ({total_iterations * per_iteration} env steps) "
        f"with {s.threads} thread(s); config {cfg}"
    )
    learner = SHACLearner(
        SHAC(s.task, cfg, s.seed, s.threads, s.device), total_iterations, run.dir / "rollouts.pt", description
    )
    cadence = Cadence(cfg["progress_every"] * per_iteration, checkpoint_interval_s=cfg["checkpoint_interval_s"])
    run.train(learner, cadence)

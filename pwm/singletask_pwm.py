"""Single-task PWM on the differentiable locomotion tasks (docs/reference-notes.md §2.4).

1. World model: loaded from ``pretrained_world_model`` (the workflow's per-task
   ``pretrain_single_world_model`` output, shared by every seed, or a finished run's
   ``world_model.pt``), or pre-trained in the run directory for ``pretrain_steps`` on
   ``offline_data`` (TD-MPC2-format chunks, e.g. a SHAC run's ``rollouts.pt``); both by
   ``pwm.singletask_pretrain``. The offline chunks also seed the replay buffer.
2. Each iteration: ``num_envs`` real envs (``DiffEnv``, gradient-free path) run in lockstep with
   the imagined rollout from their current states. They provide the start states, the done and
   termination signals inside the imagined return, the re-encoded reset observations and online
   transitions for the replay buffer. The learning signal is the model's reward in its
   ``reward_units`` (``rms``: normalised by ``rew_rms`` as the reference; ``symlog``),
   reward, never the real one.
3. Order per iteration: actor step, critic fit (TD(λ) with the real dones), then ``wm_iterations``
   world-model steps on offline + online data. All three learning rates decay linearly to lr_min.

Units in eval.csv: ``step`` and ``env_steps`` are real environment steps (H x num_envs per
iteration), the reference's x-axis. Evaluation uses the shared protocol (deterministic actor mean,
real rewards), not the reference's training-episode returns.
"""

from __future__ import annotations

import numpy as np
import torch
from tensordict import TensorDict

from pwm.data.chunks import load_chunks
from pwm.data.rollouts import RolloutRecorder
from pwm.data.sampler import SliceSampler
from pwm.policy_learning import PolicyLearner, linear_lr
from pwm.run import Run, log
from pwm.singletask_pretrain import WORLD_MODEL_FILE, load_world_model, pretrain_single, save_world_model
from pwm.training_loop import Cadence, Learner
from pwm.world_model_training import WorldModelTrainer

# A non-finite value of these stops the run (``DivergedError``) before the next checkpoint. NaN
# gradients within one step are handled by ``actor_nan_grads`` and the trainers; a NaN loss is not.
LOSSES = ("actor_loss", "value_loss", "wm_loss")


class ReplayWindows:
    """Windows of H+1 steps from the offline chunks and the online rows recorded so far.

    Online rows live in a preallocated ring of ``capacity_rows`` rows (the newest kept). Rows are
    moved there from the recorder as they are cut, and only then is the sampler rebuilt (a new
    index over the same tensors, nothing copied; ``rebuilds`` counts them). One generator (saved in
    checkpoints) draws every batch."""

    def __init__(
        self,
        offline: list[TensorDict],
        recorder: RolloutRecorder,
        horizon: int,
        batch_size: int,
        capacity_rows: int,
        generator: torch.Generator,
        device,
    ):
        self.offline, self.recorder, self.horizon, self.batch_size = offline, recorder, horizon, batch_size
        self.capacity, self.generator, self.device = max(capacity_rows, 1), generator, device
        self.ring: TensorDict | None = None
        self.filled = self.next = 0  # rows stored; slot of the next row
        self.rebuilds, self._sampler = 0, None

    def _store(self, rows: dict[str, torch.Tensor]) -> None:
        n = len(rows["obs"])
        if self.ring is None:
            self.ring = TensorDict(
                {k: torch.zeros((self.capacity, *v.shape[1:]), dtype=v.dtype) for k, v in rows.items()},
                batch_size=[self.capacity, rows["obs"].shape[1]],
            )
        if n > self.capacity:
            rows, n = {k: v[n - self.capacity :] for k, v in rows.items()}, self.capacity
        slots = (self.next + torch.arange(n)) % self.capacity
        for k, v in rows.items():
            self.ring[k][slots] = v
        self.next = (self.next + n) % self.capacity
        self.filled = min(self.filled + n, self.capacity)

    @property
    def available(self) -> bool:
        return bool(self.offline) or self.filled > 0 or bool(self.recorder.rows["obs"])

    def sample(self):
        rows = self.recorder.take_rows()
        if rows is not None:
            self._store(rows)
        if rows is not None or self._sampler is None:
            online = [self.ring[: self.filled]] if self.filled else []
            self._sampler = SliceSampler(self.offline + online, self.horizon, self.batch_size, device=self.device)
            self._sampler.generator = self.generator
            self.rebuilds += 1
        return self._sampler.sample()

    def state_dict(self) -> dict:
        ring = None if self.ring is None else {k: v[: self.filled].clone() for k, v in self.ring.items()}
        return {"ring": ring, "filled": self.filled, "next": self.next}

    def load_state_dict(self, state: dict) -> None:
        self.ring, self.filled, self.next, self._sampler = None, 0, 0, None
        if state["ring"] is not None:
            self._store(state["ring"])
            self.next = int(state["next"])


def world_model_for(run: Run, cfg, offline: list) -> str:
    """The path of the world model to start from: the shared pre-trained one, or one pre-trained
    in the run directory on the offline data first."""
    s = run.settings
    if cfg.pretrained_world_model:
        return cfg.pretrained_world_model
    if offline:
        log(f"[pwm] pre-training the world model for {cfg.pretrain_steps} steps on {cfg.offline_data}")
        return pretrain_single(
            s.task,
            [cfg.offline_data],
            str(run.dir / "pretrain"),
            cfg,
            int(cfg.pretrain_steps),
            seed=s.seed,
            device=s.device,
            threads=s.threads,
        )
    raise ValueError(
        "single-task PWM needs hparams offline_data (TD-MPC2-format chunks, e.g. a SHAC run's "
        "rollouts.pt) or pretrained_world_model (a world_model.pt of pwm-bench pretrain-single "
        "or of an earlier pwm run); the workflow passes both from the experiment's world_model "
        "pipeline"
    )


class SingleTaskPWMLearner(Learner):
    """One iteration per training step: the actor and critic through the world model, with
    ``num_envs`` real envs in lockstep, then ``wm_iterations`` world-model steps."""

    checked = LOSSES

    def __init__(self, run: Run, cfg):
        from pwm.envs.batched import make_batched_env

        s = run.settings
        self.cfg, self.dir, self.device = cfg, run.dir, torch.device(s.device)
        H, N = int(cfg.horizon), int(cfg.num_envs)
        self.per_iteration = H * N
        self.total = max(1, s.steps // self.per_iteration)
        self.env = make_batched_env(s.task, N, seed=s.seed, threads=s.threads, device=s.device)
        obs_dim, act_dim = self.env.obs_dim, self.env.act_dim
        offline = load_chunks(cfg.offline_data) if cfg.offline_data else []
        model_path = world_model_for(run, cfg, offline)
        self.wm, self.rew_rms, self.reward_units = load_world_model(model_path, device=self.device)
        wm = self.wm
        if self.reward_units != cfg.reward_units:
            raise ValueError(
                f"{model_path} was trained with reward_units={self.reward_units}, but this run has reward_units="
                f"{cfg.reward_units}; the actor, the critic and the fine-tuning must use the model's units"
            )
        if wm.cfg.latent_norm != cfg.wm_latent_norm:
            raise ValueError(
                f"{model_path} has latent_norm={wm.cfg.latent_norm}, but this run has wm_latent_norm="
                f"{cfg.wm_latent_norm}; set the run's wm_latent_norm to the model's so its record is true"
            )
        if wm.cfg.obs_dim != obs_dim or wm.cfg.action_dim != act_dim or wm.multitask:
            raise ValueError(
                f"world model (obs {wm.cfg.obs_dim}, act {wm.cfg.action_dim}) does not fit {s.task} "
                f"(obs {obs_dim}, act {act_dim})"
            )
        self.learner = PolicyLearner(wm, cfg, act_dim, multitask=False, device=self.device)
        self.trainer = WorldModelTrainer.from_config(wm, self.rew_rms, cfg, self.reward_units)
        self.recorder = RolloutRecorder(N, int(cfg.wm_segment))
        self.generator = torch.Generator().manual_seed(s.seed)
        self.replay = ReplayWindows(
            offline,
            self.recorder,
            H,
            int(cfg.wm_batch_size),
            int(cfg.wm_buffer_size) // int(cfg.wm_segment),
            self.generator,
            self.device,
        )
        self.obs = self.env.reset().cpu()  # the env's side of the loop is on the CPU (dflex may be on a GPU)
        self.recorder.start(self.obs)
        self.tracker = {"ep_return": torch.zeros(N), "returns": []}
        self.description = (
            f"training pwm on {s.task} (seed {s.seed}): {self.total} iterations of {N} envs x H{H} "
            f"({self.total * self.per_iteration} env steps) from iteration {{}}, world model latent "
            f"{wm.cfg.latent_dim}, critic targets {self.learner.critic_target}, on {s.device} with "
            f"{s.threads} thread(s)"
        )

    def start_line(self) -> str:
        return self.description.format(self.learner.iteration)

    @property
    def env_steps(self) -> int:
        return self.learner.iteration * self.per_iteration

    @property
    def train_return(self) -> float | None:
        recent = self.tracker["returns"]
        return float(np.mean(recent)) if recent else None

    def done(self) -> bool:
        return self.learner.iteration >= self.total

    def _step_env(self, actions: torch.Tensor):
        """The real envs' step in lockstep with the imagined one (``PolicyLearner.update``'s ``step_env``)."""
        with torch.no_grad():
            next_obs, reward, done, info = self.env.step(actions.cpu())
        next_obs, reward, done = next_obs.cpu(), reward.cpu(), done.cpu()
        final, terminated = info["obs_before_reset"].cpu(), info["terminated"].cpu()
        self.recorder.record(actions.cpu(), reward, next_obs, final, done, terminated)
        tracker = self.tracker
        tracker["ep_return"] += reward
        for i in done.nonzero().squeeze(-1).tolist():
            tracker["returns"] = (tracker["returns"] + [float(tracker["ep_return"][i])])[-100:]
            tracker["ep_return"][i] = 0.0
        self.obs = torch.nan_to_num(next_obs, 0.0, 0.0, 0.0)
        return self.obs.to(self.device), done, terminated

    def train_step(self) -> dict:
        cfg, learner = self.cfg, self.learner
        self.trainer.set_lr(
            linear_lr(float(cfg.wm_lr), float(cfg.lr_min), learner.iteration, self.total)
            if cfg.lr_schedule == "linear"
            else float(cfg.wm_lr)
        )
        with torch.no_grad():
            z0 = self.wm.encode(self.obs.to(self.device))
        self.step = (learner.iteration + 1) * self.per_iteration
        info = learner.update(z0, None, self.total, self._step_env)
        if self.replay.available:
            for _ in range(int(cfg.wm_iterations)):
                info.update(self.trainer.step(self.replay.sample(), update_stats=True))
        self.step = learner.iteration * self.per_iteration
        return info

    def progress_line(self, means, rate: float) -> str:
        return "[pwm] " + " ".join(f"{k}={v:.4g}" for k, v in means.items())

    def policy(self, obs: np.ndarray) -> np.ndarray:
        return self.learner.act(torch.as_tensor(obs, dtype=torch.float32, device=self.device)[None])[0].cpu().numpy()

    def modules(self) -> dict:
        return {"world_model": self.wm, "actor": self.learner.actor, "critic": self.learner.critic}

    def state_dict(self) -> dict:
        return {
            "wm": {k: v.cpu() if torch.is_tensor(v) else v for k, v in self.wm.state_dict().items()},
            "wm_trainer": self.trainer.state_dict(),
            "learner": self.learner.state_dict(),
            "rew_rms": self.rew_rms.state_dict(),
            "recorder": self.recorder.state_dict(),
            "replay": self.replay.state_dict(),
            "env": self.env.get_state(),
            "generator": self.generator.get_state(),
            "tracker": self.tracker,
        }

    def load_state_dict(self, state: dict) -> None:
        self.wm.load_state_dict(state["wm"])
        self.trainer.load_state_dict(state["wm_trainer"])
        self.learner.load_state_dict(state["learner"])
        self.rew_rms.load_state_dict(state["rew_rms"])
        self.recorder.load_state_dict(state["recorder"])
        if "replay" in state:
            self.replay.load_state_dict(state["replay"])
        self.env.set_state(state["env"])
        self.obs = self.env.obs.cpu()
        self.generator.set_state(state["generator"])
        self.tracker.update(state["tracker"])
        self.step = self.learner.iteration * self.per_iteration

    def finish(self) -> None:
        self.env.close()
        save_world_model(self.dir / WORLD_MODEL_FILE, self.wm, self.rew_rms, self.learner.iteration, self.reward_units)


def train_singletask(run: Run, cfg) -> None:
    cadence = Cadence(
        int(cfg.progress_every) * int(cfg.horizon) * int(cfg.num_envs),
        checkpoint_interval_s=float(cfg.checkpoint_interval_s),
    )
    run.train(SingleTaskPWMLearner(run, cfg), cadence)

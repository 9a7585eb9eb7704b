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

import time

import numpy as np
import torch
from tensordict import TensorDict

from pwm import rng
from pwm.data.chunks import load_chunks
from pwm.data.rollouts import RolloutRecorder
from pwm.data.sampler import SliceSampler
from pwm.policy_learning import PolicyLearner, linear_lr
from pwm.run import Run, log
from pwm.singletask_pretrain import WORLD_MODEL_FILE, load_world_model, pretrain_single, save_world_model
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


def train_singletask(run: Run, cfg) -> None:
    s = run.settings
    device = torch.device(s.device)
    torch.manual_seed(s.seed)
    np.random.seed(s.seed % 2**32)
    from pwm.envs.diff import DiffEnv

    H, N = int(cfg.horizon), int(cfg.num_envs)
    per_iteration = H * N
    total = max(1, s.steps // per_iteration)
    env = DiffEnv(s.task, N, seed=s.seed, threads=s.threads)
    obs_dim, act_dim = env.obs_dim, env.act_dim
    offline = load_chunks(cfg.offline_data) if cfg.offline_data else []
    if cfg.pretrained_world_model:
        model_path = cfg.pretrained_world_model
    elif offline:  # no shared pre-trained model: pre-train one in the run directory first
        log(f"[pwm] pre-training the world model for {cfg.pretrain_steps} steps on {cfg.offline_data}")
        model_path = pretrain_single(
            s.task,
            [cfg.offline_data],
            str(run.dir / "pretrain"),
            cfg,
            int(cfg.pretrain_steps),
            seed=s.seed,
            device=s.device,
            threads=s.threads,
        )
    else:
        raise ValueError(
            "single-task PWM needs hparams offline_data (TD-MPC2-format chunks, e.g. a SHAC run's "
            "rollouts.pt) or pretrained_world_model (a world_model.pt of pwm-bench pretrain-single "
            "or of an earlier pwm run); the workflow passes both from the experiment's world_model "
            "pipeline"
        )
    wm, rew_rms, reward_units = load_world_model(model_path, device=device)
    if reward_units != cfg.reward_units:
        raise ValueError(
            f"{model_path} was trained with reward_units={reward_units}, but this run has reward_units="
            f"{cfg.reward_units}; the actor, the critic and the fine-tuning must use the model's units"
        )
    if wm.cfg.obs_dim != obs_dim or wm.cfg.action_dim != act_dim or wm.multitask:
        raise ValueError(
            f"world model (obs {wm.cfg.obs_dim}, act {wm.cfg.action_dim}) does not fit {s.task} "
            f"(obs {obs_dim}, act {act_dim})"
        )
    learner = PolicyLearner(wm, cfg, act_dim, multitask=False, device=device)
    trainer = WorldModelTrainer.from_config(wm, rew_rms, cfg, reward_units)
    recorder = RolloutRecorder(N, int(cfg.wm_segment))
    generator = torch.Generator().manual_seed(s.seed)
    replay = ReplayWindows(
        offline, recorder, H, int(cfg.wm_batch_size), int(cfg.wm_buffer_size) // int(cfg.wm_segment), generator, device
    )
    obs = env.reset()
    recorder.start(obs)
    tracker = {"ep_return": torch.zeros(N), "returns": []}

    def checkpoint() -> None:
        run.check_parameters(
            learner.iteration * per_iteration, world_model=wm, actor=learner.actor, critic=learner.critic
        )
        run.save_checkpoint(
            learner.iteration * per_iteration,
            {
                "wm": {k: v.cpu() if torch.is_tensor(v) else v for k, v in wm.state_dict().items()},
                "wm_trainer": trainer.state_dict(),
                "learner": learner.state_dict(),
                "rew_rms": rew_rms.state_dict(),
                "recorder": recorder.state_dict(),
                "replay": replay.state_dict(),
                "env": env.get_state(),
                "generator": generator.get_state(),
                "rng": rng.get_state(),
                "tracker": tracker,
            },
        )

    payload = run.load_checkpoint()
    if payload is not None:
        wm.load_state_dict(payload["wm"])
        trainer.load_state_dict(payload["wm_trainer"])
        learner.load_state_dict(payload["learner"])
        rew_rms.load_state_dict(payload["rew_rms"])
        recorder.load_state_dict(payload["recorder"])
        if "replay" in payload:
            replay.load_state_dict(payload["replay"])
        env.set_state(payload["env"])
        obs = env.obs
        generator.set_state(payload["generator"])
        rng.set_state(payload["rng"])
        tracker.update(payload["tracker"])
    log(
        f"training pwm on {s.task} (seed {s.seed}): {total} iterations of {N} envs x H{H} ({total * per_iteration} env "
        f"steps) from iteration {learner.iteration}, world model latent {wm.cfg.latent_dim}, critic targets "
        f"{learner.critic_target}, on {s.device} with {s.threads} thread(s)"
    )

    def step_env(actions: torch.Tensor):
        nonlocal obs
        with torch.no_grad():
            next_obs, reward, done, info = env.step(actions.cpu())
        recorder.record(actions.cpu(), reward, next_obs, info["obs_before_reset"], done, info["terminated"])
        tracker["ep_return"] += reward
        for i in done.nonzero().squeeze(-1).tolist():
            tracker["returns"] = (tracker["returns"] + [float(tracker["ep_return"][i])])[-100:]
            tracker["ep_return"][i] = 0.0
        obs = torch.nan_to_num(next_obs, 0.0, 0.0, 0.0)
        return obs.to(device), done, info["terminated"]

    def policy(o: np.ndarray) -> np.ndarray:
        return learner.act(torch.as_tensor(o, dtype=torch.float32, device=device)[None])[0].cpu().numpy()

    last_checkpoint, info = time.time(), {}
    while True:
        env_steps = learner.iteration * per_iteration
        evaluated = False
        while (due := run.next_eval_step()) is not None and (due <= env_steps or learner.iteration >= total):
            run.evaluate(policy, step=due, env_steps=env_steps)
            evaluated = True
        if evaluated or time.time() - last_checkpoint > float(cfg.checkpoint_interval_s):
            checkpoint()
            last_checkpoint = time.time()
        if learner.iteration >= total or run.next_eval_step() is None:
            break
        trainer.set_lr(
            linear_lr(float(cfg.wm_lr), float(cfg.lr_min), learner.iteration, total)
            if cfg.lr_schedule == "linear"
            else float(cfg.wm_lr)
        )
        with torch.no_grad():
            z0 = wm.encode(obs.to(device))
        with run.guard((learner.iteration + 1) * per_iteration):
            info = learner.update(z0, None, total, step_env)
        if replay.available:
            for _ in range(int(cfg.wm_iterations)):
                info.update(trainer.step(replay.sample(), update_stats=True))
        run.check_finite(learner.iteration * per_iteration, {k: info[k] for k in LOSSES if k in info})
        if learner.iteration % int(cfg.progress_every) == 0 or learner.iteration == total:
            recent = tracker["returns"]
            run.progress(learner.iteration * per_iteration, float(np.mean(recent)) if recent else None)
            log("[pwm] " + " ".join(f"{k}={v:.4g}" for k, v in info.items()))
    env.close()
    save_world_model(run.dir / WORLD_MODEL_FILE, wm, rew_rms, learner.iteration, reward_units)
    run.finish()

"""TD-MPC2 (Hansen et al., 2024) online single-task training: ``pwm-bench train --algo tdmpc2``.

The loop follows TD-MPC2's online trainer: ``seed_steps`` of uniformly random actions, then one
burst of ``seed_steps`` updates ("pretraining" on the seed data), then one update per environment
step while acting by MPPI planning with exploration noise. Episodes enter the replay buffer when
they end. Evaluation uses the shared protocol (``run.evaluate``) with eval-mode planning (no added
noise) and happens at episode boundaries, like TD-MPC2's.

Resume is exact: a run killed and rerun ends with the eval rows of an uninterrupted one. Checkpoints
(after the evaluations due at an episode boundary, and at the first boundary after every
``checkpoint_interval_s``) are only taken between episodes, and training episode ``k`` is reset
with a seed derived from (run seed, ``k``), so a resumed run replays the same episode stream without
the environment's state (Meta-World envs cannot be pickled). A checkpoint holds the world model
(with the target Q) in TD-MPC2's own format, the optimisers, the Q scale, the replay buffer with its
sampling generator, the random-action generator, every global RNG (``pwm.rng``), the step, the
episode index and whether the seed-data update burst is done. The planner's warm start needs no
saving: the first action of an episode is planned with ``t0``, which ignores it.

Early termination follows TD-MPC2's ``episodic`` mode. With ``episodic: auto`` (the default) it is on
for the tasks whose registry entry has ``early_termination`` (the falling differentiable tasks
hopper, ant, humanoid, quadruped, muscle-legs) and off elsewhere. An episodic agent has a
termination head, its TD targets do not bootstrap past a terminal transition, and its planner ends a
return where termination is predicted; its replay (:class:`EpisodicReplay`) remembers which episodes
ended by ``terminated``. A termination seen by a non-episodic agent is an error, as in TD-MPC2 (it
would be learned as if the episode went on).

A non-finite loss or gradient norm stops the run with ``DivergedError`` before the next checkpoint,
so the checkpoint on disk keeps the last finite weights. At the end the replay buffer
is exported as a TD-MPC2 dataset chunk (``<run>/dataset/chunk_0.pt``; that is how TD-MPC2's
multitask datasets were made, and ``pwm-bench build-dataset`` merges these into suite datasets),
and the final world model is written as ``<run>/model.pt`` in TD-MPC2's format.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from pwm.checkpoint import save_tdmpc2
from pwm.data.replay import EpisodeReplay
from pwm.envs import TaskSpec, make
from pwm.planning import discount_heuristic
from pwm.run import Run, log
from pwm.tdmpc2_agent import TDMPC2Agent, load_hparams
from pwm.training_loop import Cadence, DivergedError, Learner, nonfinite_loss_reason
from pwm.world_model import WorldModel, WorldModelConfig


def resolve_episodic(cfg, spec: TaskSpec) -> bool:
    """TD-MPC2's ``episodic`` setting for a task: ``auto`` (or null) means "the task terminates early"."""
    value = cfg.episodic
    if value is None or (isinstance(value, str) and value.lower() == "auto"):
        return bool(spec.early_termination)
    if isinstance(value, bool):
        return value
    raise ValueError(f"tdmpc2 hyperparameter episodic must be true, false or auto, got {value!r}")


class EpisodicReplay(EpisodeReplay):
    """:class:`EpisodeReplay` that also stores whether each episode ended by termination.

    Batches carry ``terminated = 1`` exactly on the transition into a terminal observation (the
    last transition of an episode that ended by ``terminated``), as TD-MPC2's per-step
    ``terminated`` field does; windows are drawn by :meth:`EpisodeReplay.sample` itself, which asks
    :meth:`_terminated` for that field. The exported chunk has a ``terminated
    [E, T]`` field (NaN in the dummy first row, like action and reward)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.terminal = torch.zeros(self.max_episodes, dtype=torch.bool)

    def add(self, obs, action, reward, terminated: bool = False) -> None:
        slot = self.num_added % self.max_episodes
        super().add(obs, action, reward)
        self.terminal[slot] = bool(terminated)

    def _terminated(self, ep: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        # Row lengths[e]-1 holds the episode's last observation; the transition into it is terminal.
        return (self.terminal[ep[1:]] & (steps[1:] == self.lengths[ep[1:]] - 1)).float().unsqueeze(-1)

    def to_chunk(self, task: int | None = None):
        chunk = super().to_chunk(task)
        n = len(self)
        order = torch.arange(self.num_added - n, self.num_added) % self.max_episodes
        rows = order[self.lengths[order] == self.lengths[order].max()] if n else order
        E, T = chunk.batch_size
        terminated = torch.zeros(E, T)
        terminated[:, 0] = float("nan")
        terminated[torch.arange(E), self.lengths[rows] - 1] = self.terminal[rows].float()
        chunk["terminated"] = terminated
        return chunk

    def state_dict(self) -> dict:
        return dict(super().state_dict(), terminal=self.terminal[: len(self)].clone())

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        n = len(state["lengths"])
        self.terminal.zero_()
        if "terminal" in state:
            self.terminal[:n] = state["terminal"]


def seed_steps_for(cfg, episode_length: int) -> int:
    return int(cfg.seed_steps) if cfg.seed_steps is not None else max(1000, 5 * episode_length)


class EpisodePolicy:
    """Adapts the agent to ``pwm.evaluate``'s ``obs -> action`` protocol with eval-mode planning.

    ``pwm.evaluate`` announces episode starts through :meth:`begin_episode`, which marks ``t0``
    (it resets the planner's warm start); counting steps modulo the episode length is the fallback
    for callers that do not."""

    def __init__(self, agent: TDMPC2Agent, episode_length: int, task: int | None = None):
        self.agent, self.episode_length, self.task, self.t = agent, episode_length, task, 0

    def begin_episode(self) -> None:
        """Called by ``pwm.evaluate`` at each episode start (episodes may end early by termination)."""
        self.t = 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        action = self.agent.act(obs, t0=self.t % self.episode_length == 0, eval_mode=True, task=self.task)
        self.t += 1
        return action.numpy()


def build_agent(
    cfg, obs_dim: int, action_dim: int, episode_length: int, device: str, episodic: bool = False
) -> TDMPC2Agent:
    model = WorldModel(WorldModelConfig.for_model_size(int(cfg.model_size), obs_dim, action_dim, episodic=episodic))
    discount = float(discount_heuristic(episode_length, cfg.discount_denom, cfg.discount_min, cfg.discount_max))
    return TDMPC2Agent(model, cfg, discount, device=device)


def training_episode_seed(seed: int, episode: int) -> int:
    """The reset seed of training episode ``episode`` (0, 1, ...): a function of the run seed and the
    episode index only, so fresh and resumed runs reset every episode identically. (Evaluation seeds
    come from ``seed + EVAL_SEED_OFFSET`` through a different ``SeedSequence`` key.)"""
    return int(np.random.SeedSequence([seed, episode, 0x7D]).generate_state(1)[0])


class TDMPC2Learner(Learner):
    """One training episode per training step (checkpoints fall between episodes); ``step`` counts
    environment steps. During the seed phase actions are uniform; when learning can start, one
    burst of ``seed_steps`` updates, then one update per environment step."""

    def __init__(self, run: Run, cfg):
        s = run.settings
        self.cfg, self.seed, self.budget, self.task, self.dir = cfg, s.seed, s.steps, s.task, run.dir
        self.export_dataset = run.export_dataset if cfg.export_dataset else None
        self.env = make(s.task, s.seed)
        obs_dim, self.action_dim = self.env.observation_space.shape[0], self.env.action_space.shape[0]
        episode_length = run.spec.episode_length
        self.episodic = resolve_episodic(cfg, run.spec)
        self.agent = build_agent(cfg, obs_dim, self.action_dim, episode_length, s.device, episodic=self.episodic)
        # A non-episodic agent keeps the plain replay (its checkpoints and exports are unchanged).
        self.buffer = (EpisodicReplay if self.episodic else EpisodeReplay)(
            obs_dim,
            self.action_dim,
            episode_length,
            min(int(cfg.buffer_size), s.steps),
            seed=s.seed,
            device=self.agent.device,
        )
        self.seed_steps = seed_steps_for(cfg, episode_length)
        self.actions_rng = np.random.default_rng(s.seed)  # the seed phase's uniform random actions
        # Learning starts with one burst of seed_steps updates (``pretrained`` once it is done).
        self.episode, self.pretrained, self.returns = 0, False, []
        self.policy = EpisodePolicy(self.agent, episode_length)
        self.description = (
            f"training tdmpc2 on {s.task} (seed {s.seed}): {s.steps} steps from step {{}}, model_size "
            f"{cfg.model_size} ({self.agent.model.total_params:,} params), discount {float(self.agent.discount):.3f}, "
            f"episodic {self.episodic}, {self.agent.planner.iterations} MPPI iterations, seed_steps {self.seed_steps}, "
            f"on {s.device} with {s.threads} thread(s)"
        )

    @property
    def env_steps(self) -> int:
        return self.step

    @property
    def train_return(self) -> float | None:
        return self.returns[-1] if self.returns else None

    def done(self) -> bool:
        return self.step >= self.budget

    def train_step(self) -> dict:
        """One episode (the budget cuts the last one)."""
        agent, buffer = self.agent, self.buffer
        obs, _ = self.env.reset(seed=training_episode_seed(self.seed, self.episode))
        ep_obs, ep_action, ep_reward, done, info = [obs], [], [], False, {}
        while not done:
            if self.step >= self.seed_steps:
                action = agent.act(obs, t0=len(ep_action) == 0).numpy()
            else:
                action = self.actions_rng.uniform(-1.0, 1.0, size=self.action_dim).astype(np.float32)
            obs, reward, terminated, truncated, _ = self.env.step(action)
            done = terminated or truncated or self.step + 1 >= self.budget
            if terminated and not self.episodic:
                raise ValueError(
                    f"{self.task} terminated an episode at step {self.step + 1} but the TD-MPC2 agent is not "
                    "episodic (it would bootstrap past the termination); set episodic=true, or "
                    "episodic=auto with the task's registry entry marking early_termination"
                )
            ep_obs.append(obs), ep_action.append(action), ep_reward.append(reward)
            self.step += 1
            if done:
                episode = (np.stack(ep_obs), np.stack(ep_action), np.asarray(ep_reward, dtype=np.float32))
                if self.episodic:
                    buffer.add(*episode, terminated=bool(terminated))
                else:
                    buffer.add(*episode)
                self.returns.append(float(np.sum(ep_reward)))
                self.episode += 1
            if self.step >= self.seed_steps and len(buffer):
                info = self._update()
        return info

    def _update(self) -> dict:
        """One update per step; the first time learning can start, one per seed step."""
        updates = 1 if self.pretrained else self.seed_steps
        self.pretrained = True
        if updates > 1:
            log(f"pretraining on {self.buffer.num_transitions} seed transitions ({updates} updates)")
        started = time.time()
        for i in range(updates):
            info = self.agent.update(self.buffer.sample(int(self.cfg.batch_size), int(self.cfg.horizon)))
            reason = nonfinite_loss_reason(info)
            if reason:
                raise DivergedError(reason)
            if updates > 1 and (i + 1) % int(self.cfg.progress_every) == 0:
                rate = (i + 1) / (time.time() - started)
                log(
                    f"[pretrain] update {i + 1}/{updates} rate={rate:.2f} updates/s "
                    f"eta={(updates - i - 1) / rate / 60:.1f} min consistency={info['consistency']:.4g} "
                    f"reward={info['reward']:.4g} value={info['value']:.4g}"
                )
        return info

    def progress_line(self, means, rate: float) -> str | None:
        return "[losses] " + " ".join(f"{k}={v:.4g}" for k, v in means.items()) if means else None

    def modules(self) -> dict:
        return {"model": self.agent.model}

    def state_dict(self) -> dict:
        """Everything the continuation from an episode boundary depends on (the env is reset by seed)."""
        return {
            "model": {k: v.cpu() if torch.is_tensor(v) else v for k, v in self.agent.model.state_dict().items()},
            "agent": self.agent.state_dict(),
            "replay": self.buffer.state_dict(),
            "step": self.step,
            "episode": self.episode,
            "pretrained": self.pretrained,
            "numpy_rng": self.actions_rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict) -> None:
        """Checkpoints written before the episode index was stored are read too (their episode index
        is the number of episodes the replay received)."""
        self.agent.model.load_state_dict(state["model"], strict=True)
        self.agent.load_state_dict(state["agent"])
        self.buffer.load_state_dict(state["replay"])
        self.actions_rng.bit_generator.state = state["numpy_rng"]
        self.step = int(state["step"])
        self.episode = int(state.get("episode", self.buffer.num_added))
        self.pretrained = bool(state.get("pretrained", self.step >= self.seed_steps and len(self.buffer) > 0))

    def finish(self) -> None:
        self.env.close()
        save_world_model(self.agent, self.dir / "model.pt")  # the final world model, loadable by TD-MPC2 itself
        if self.export_dataset:
            self.export_dataset(self.buffer)


def train(run: Run) -> None:
    cfg = load_hparams(run.settings.hparams)
    run.train(
        TDMPC2Learner(run, cfg),
        Cadence(int(cfg.progress_every), checkpoint_interval_s=float(cfg.checkpoint_interval_s)),
    )


def save_world_model(agent: TDMPC2Agent, path) -> None:
    """The agent's world model in TD-MPC2's checkpoint format."""
    save_tdmpc2(agent.model, path)

"""The training driver shared by the stable-baselines3 baselines (SAC, PPO).

SB3 owns the learning loop; this module plugs the harness into it through a callback that
evaluates on the run's schedule with ``pwm.evaluate``, prints progress, and checkpoints.

Checkpoints are taken only at the start of a rollout, the one point of SB3's loop where the
state is complete (the last transition is stored, the last update done, a PPO rollout buffer
empty). A checkpoint holds the model zip (incl. the last observation), the replay buffer for
off-policy algorithms, the pickled training environment (physics, episode step counter, its
random generator) and the global random streams, so a killed run resumes exactly: it ends with
the evaluation rows the uninterrupted run would have had.

The replay buffer and the random streams are stored as arrays (loaded with ``weights_only``).
The training environment and SB3's model zip can only be restored by unpickling (the env's
simulator state; SB3's cloudpickled spaces and schedules), so they are sealed with this user's
key (:mod:`pwm.signing`) and unpickled only after their signature checks out.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from pwm.envs import make
from pwm.run import Run, log
from pwm.signing import seal, seal_bytes, unseal, unseal_bytes
from pwm.training_loop import Cadence, Learner, TrainingLoop, nonfinite_parameters

CHECKPOINT_INTERVAL_S = 600.0  # also checkpoint between evaluations at least this often


def _to_bytes(save) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()


class SB3Learner(Learner):
    """An SB3 model as the loop sees it: ``step`` is SB3's timestep count; the state is the model
    zip, the pickled training environment (both sealed) and, off-policy, the replay buffer."""

    def __init__(self, run: Run, algo_cls: type[BaseAlgorithm], hparams: dict):
        s = run.settings
        self.algo_cls, self.budget, self.checkpoint_path = algo_cls, s.steps, run.checkpoint_path
        env = Monitor(make(s.task, s.seed))
        try:
            self.model = algo_cls("MlpPolicy", env, seed=s.seed, device=s.device, verbose=0, **hparams)
        except TypeError as err:
            raise ValueError(f"bad {s.algo} hyperparameters {sorted(s.hparams)}: {err}") from None

    @property
    def step(self) -> int:
        return self.model.num_timesteps

    @property
    def train_return(self) -> float | None:
        episodes = self.model.ep_info_buffer
        return episodes[-1]["r"] if episodes else None

    def done(self) -> bool:
        return self.model.num_timesteps >= self.budget

    def policy(self, obs: np.ndarray) -> np.ndarray:
        # Deterministic actions draw no random numbers: evaluating leaves training untouched.
        action, _ = self.model.predict(obs, deterministic=True)
        return action

    def modules(self) -> dict:
        return {"policy": self.model.policy}

    def state_dict(self) -> dict:
        state = {"model": seal_bytes(_to_bytes(self.model.save)), "env": seal(self.model.get_env())}
        if isinstance(self.model, OffPolicyAlgorithm):
            state["replay_buffer"] = replay_buffer_state(self.model.replay_buffer)
        return state

    def load_state_dict(self, state: dict) -> None:
        # Each blob's signature is checked before it is unpickled (by SB3 for the zip, here for the env).
        model_zip = unseal_bytes(state.get("model"), self.checkpoint_path, "SB3 model zip")
        env = unseal(state.get("env"), self.checkpoint_path, "pickled training environment")
        device = self.model.device
        self.model.get_env().close()  # the fresh model built before the checkpoint was read
        self.model = self.algo_cls.load(io.BytesIO(model_zip), env=env, device=device, force_reset=False)
        if "replay_buffer" in state:
            load_replay_buffer_state(self.model.replay_buffer, state["replay_buffer"], self.checkpoint_path)


class HarnessCallback(BaseCallback):
    """SB3 owns the learning loop: this callback runs the harness's loop pieces inside it.

    Checkpoints are taken only at the start of a rollout, the one point of SB3's loop where the
    state is complete (see the module docstring)."""

    def __init__(self, loop: TrainingLoop):
        super().__init__()
        self.loop = loop

    def _on_rollout_start(self) -> None:
        self.loop.checkpoint_if_due()

    def _on_step(self) -> bool:
        self.loop.after_step({})
        self.loop.evaluate_due()
        # Returning False ends SB3's rollout *before* it stores the current transition. Off-policy
        # algorithms keep going after the last evaluation so the final transition (which ends the
        # last episode) reaches the replay buffer and the exported dataset; SB3 stops at the step
        # budget by itself (with train_freq k > 1 steps it may collect up to k-1 more). PPO stops
        # here instead of filling the rest of an n_steps rollout it would never use.
        return self.loop.job.pending() or isinstance(self.model, OffPolicyAlgorithm)


REPLAY_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def replay_buffer_state(buffer) -> dict:
    """An SB3 ``ReplayBuffer`` as tensors and integers (no pickle): its arrays, ``pos`` and ``full``."""
    state = {"pos": int(buffer.pos), "full": bool(buffer.full)}
    for name in REPLAY_ARRAYS:
        state[name] = torch.from_numpy(np.ascontiguousarray(getattr(buffer, name)))
    return state


def load_replay_buffer_state(buffer, state, path) -> None:
    """Restore :func:`replay_buffer_state` into the (freshly built, same-sized) buffer of a loaded model."""
    if not isinstance(state, dict) or any(k not in state for k in (*REPLAY_ARRAYS, "pos", "full")):
        raise ValueError(
            f"{path}: the replay buffer entry is not in this pwm-bench's format (expected the keys "
            f"{[*REPLAY_ARRAYS, 'pos', 'full']}); delete the checkpoint to start the run over"
        )
    for name in REPLAY_ARRAYS:
        current, saved = getattr(buffer, name), state[name]
        if not torch.is_tensor(saved) or tuple(saved.shape) != current.shape:
            raise ValueError(
                f"{path}: replay buffer array {name!r} has shape "
                f"{tuple(saved.shape) if torch.is_tensor(saved) else type(saved).__name__}, expected "
                f"{current.shape}; delete the checkpoint to start the run over"
            )
        setattr(buffer, name, saved.numpy().astype(current.dtype, copy=True))
    buffer.pos, buffer.full = int(state["pos"]), bool(state["full"])


def replay_episodes(buffer, added: int | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The complete episodes in an SB3 replay buffer of one env, oldest first, as
    ``(obs [n+1, O], action [n, A], reward [n])``; a trailing unfinished episode is left out, and
    so is the oldest one once transitions were overwritten (``added``, the number of transitions
    ever stored, tells; unknown means a full buffer may have been overwritten).

    SB3 stores ``next_observations`` with the true terminal observation at episode ends (not the
    auto-reset one), so each episode's last observation is exact."""
    if buffer.n_envs != 1 or buffer.optimize_memory_usage:
        raise ValueError(
            f"dataset export needs a replay buffer of 1 env without optimize_memory_usage, "
            f"got n_envs={buffer.n_envs}, optimize_memory_usage={buffer.optimize_memory_usage}"
        )
    n = buffer.buffer_size if buffer.full else buffer.pos
    order = np.roll(np.arange(n), -buffer.pos) if buffer.full else np.arange(n)
    obs, next_obs = buffer.observations[order, 0], buffer.next_observations[order, 0]
    action, reward, done = buffer.actions[order, 0], buffer.rewards[order, 0], buffer.dones[order, 0]
    ends = np.flatnonzero(done > 0.5)
    episodes, start = [], 0
    overwritten = buffer.full and (added is None or added > buffer.buffer_size)
    if overwritten and len(ends):
        start = int(ends[0]) + 1  # the oldest episode lost its beginning
        ends = ends[1:]
    for end in ends:
        episodes.append(
            (
                np.concatenate([obs[start : end + 1], next_obs[end : end + 1]]),
                action[start : end + 1],
                reward[start : end + 1],
            )
        )
        start = int(end) + 1
    return episodes


def export_replay(run: Run, model: OffPolicyAlgorithm) -> Path | None:
    """Write the replay buffer's complete episodes as a TD-MPC2 dataset chunk, ``<run>/dataset/chunk_0.pt``.

    TD-MPC2's datasets are the replay buffers of learning agents; an SAC run's buffer is the
    same kind of data, so ``pwm-bench build-dataset`` (and a multitask experiment's
    ``world_model.collect``) can build a world-model dataset from SAC runs."""
    episodes = replay_episodes(model.replay_buffer, added=model.num_timesteps)
    if not episodes:
        # e.g. a smoke-test budget shorter than one episode: nothing to export is not an error of
        # the run; build-dataset names the run if its data are then missing.
        log(f"no dataset exported: the replay buffer holds no complete episode ({model.num_timesteps} steps)")
        return None
    from pwm.data.replay import EpisodeReplay  # here: tensordict adds ~1 s to every SB3 job's start-up

    length = max(len(a) for _, a, _ in episodes)
    replay = EpisodeReplay(episodes[0][0].shape[1], episodes[0][1].shape[1], length, length * len(episodes))
    for episode in episodes:
        replay.add(*episode)
    return run.export_dataset(replay)


# Constructor arguments the harness sets itself (from the run), never hyperparameters: the keys of
# baselines/configs/{sac,ppo}.yaml are SB3's other keywords (tests/test_hparams.py checks).
HARNESS_ARGUMENTS = ("self", "policy", "env", "seed", "device", "verbose", "_init_setup_model", "tensorboard_log")


def train_sb3(run: Run, algo_cls: type[BaseAlgorithm], hparams: dict) -> None:
    """Train with ``hparams``, the run's resolved settings (pwm.hparams: checked, every SB3 keyword)."""
    s = run.settings
    hparams = dict(hparams)
    export_dataset = hparams.pop("export_dataset", False)
    if not isinstance(export_dataset, bool):
        raise ValueError(f"export_dataset must be true or false, got {export_dataset!r}")
    if export_dataset and not issubclass(algo_cls, OffPolicyAlgorithm):
        raise ValueError(f"export_dataset needs an off-policy algorithm with a replay buffer; {s.algo} has none")
    learner = SB3Learner(run, algo_cls, hparams)
    loop = TrainingLoop(run, learner, Cadence(max(1, s.steps // 20), checkpoint_interval_s=CHECKPOINT_INTERVAL_S))
    loop.resume()
    loop.evaluate_due()  # step 0: the untrained policy
    remaining = s.steps - learner.step
    if remaining > 0 and run.pending():
        log(
            f"training {s.algo} on {s.task} (seed {s.seed}) for {remaining} steps "
            f"on {s.device} with {s.threads} thread(s); hyperparameters {hparams}"
        )
        try:
            learner.model.learn(
                remaining, callback=HarnessCallback(loop), reset_num_timesteps=False, progress_bar=False
            )
        except (ValueError, RuntimeError) as err:
            # A diverged update surfaces inside SB3 as NaN parameters or as torch's rejection of
            # an invalid action distribution (e.g. std 0); name it instead of a bare traceback.
            bad = nonfinite_parameters(policy=learner.model.policy)
            if bad:
                raise run.diverged(learner.step, f"non-finite parameters {bad[:3]}") from err
            if "Expected parameter" in str(err):
                reason = "invalid policy distribution (" + str(err).splitlines()[0][:160] + ")"
                raise run.diverged(learner.step, reason) from err
            raise
    loop.evaluate_due()
    loop.checkpoint()
    if export_dataset:
        export_replay(run, learner.model)
    run.finish()

"""Multitask PWM on one task (docs/reference-notes.md §2.5): policy learning in a frozen
multitask world model from offline start states, with no environment interaction for learning.

Each iteration samples ``batch_size`` windows of the task's offline episodes (TD-MPC2 chunks,
``pwm.data.sampler.SliceSampler``, so the last H steps of an episode are never start states, as in
the reference), encodes their first observations with the task id, and runs one
:meth:`PolicyLearner.update`. The real environment is only used by ``run.evaluate``.

Units in eval.csv: ``step`` counts policy iterations (the budget ``--steps`` is iterations) and
``env_steps`` is 0, because learning never steps an environment.
"""

from __future__ import annotations

import numpy as np
import torch

from pwm.checkpoint import load_tdmpc2
from pwm.data.chunks import load_chunks
from pwm.data.sampler import SliceSampler
from pwm.envs.suites import TASK_SETS
from pwm.envs.suites import suite_tasks as task_names
from pwm.policy_learning import PolicyLearner, freeze
from pwm.run import Run
from pwm.training_loop import Cadence, Learner

# A non-finite value of these stops the run (``DivergedError``) before the next checkpoint.
LOSSES = ("actor_loss", "value_loss")


def resolve_task_set(cfg, wm_num_tasks: int) -> str:
    if cfg.task_set:
        return str(cfg.task_set)
    for name, table in TASK_SETS.items():
        if len(table) == wm_num_tasks:
            return name
    raise ValueError(f"cannot tell the task set of a world model with {wm_num_tasks} tasks; set hparams.task_set")


def read_multitask_checkpoint(path) -> tuple[dict, int]:
    """The checkpoint's state dict and its number of tasks (rows of the task embedding)."""
    from pwm.checkpoint import read_state_dict, to_current_format

    raw, _ = read_state_dict(path)
    sd, _ = to_current_format(dict(raw))
    num_tasks = int(sd["_task_emb.weight"].shape[0]) if "_task_emb.weight" in sd else 0
    if not num_tasks:
        raise ValueError(f"{path} is a single-task world model; multitask PWM needs a multitask checkpoint")
    return raw, num_tasks


class MultitaskPolicy:
    """``pwm.evaluate`` protocol: pad the task's observation to the suite's obs dim, encode it with
    the task id, take the actor's mean action, and keep the task's own action dims."""

    def __init__(self, learner: PolicyLearner, task_id: int, obs_dim: int, action_dim: int):
        self.learner, self.task_id, self.action_dim = learner, task_id, action_dim
        self.padded = torch.zeros(1, obs_dim, device=learner.device)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        self.padded.zero_()
        self.padded[0, : len(obs)] = torch.as_tensor(obs, dtype=torch.float32)
        action = self.learner.act(self.padded, self.task_id)
        return action[0, : self.action_dim].cpu().numpy()


class MultitaskPWMLearner(Learner):
    """One policy iteration per training step, from start states of the task's offline episodes."""

    env_steps = 0  # learning never steps an environment
    checked = LOSSES

    def __init__(self, run: Run, cfg):
        s = run.settings
        if not cfg.world_model or not cfg.data_dir:
            raise ValueError(
                "multitask PWM needs hparams world_model (a TD-MPC2-format multitask checkpoint) and "
                "data_dir (TD-MPC2 dataset chunks with this task's episodes)"
            )
        device = torch.device(s.device)
        sd, num_tasks = read_multitask_checkpoint(cfg.world_model)
        task_set = resolve_task_set(cfg, num_tasks)
        names = task_names(task_set)
        if s.task not in names:
            raise ValueError(f"task {s.task!r} is not in {task_set}; its tasks are {', '.join(names)}")
        self.task_id = task_id = names.index(s.task)
        action_dims = tuple(a for _, _, a in TASK_SETS[task_set])
        self.wm = wm = freeze(load_tdmpc2(sd, action_dims=action_dims, device=device))
        if wm.cfg.num_tasks != len(names):
            raise ValueError(f"{cfg.world_model} has {wm.cfg.num_tasks} tasks but {task_set} has {len(names)}")
        chunks = load_chunks(cfg.data_dir, num_tasks=num_tasks)
        H, B = int(cfg.horizon), int(cfg.batch_size)
        self.sampler = SliceSampler(chunks, H, B, tasks=[task_id], device=device, seed=s.seed)
        self.learner = PolicyLearner(wm, cfg, wm.cfg.action_dim, multitask=True, device=device)
        _, task_obs_dim, task_action_dim = TASK_SETS[task_set][task_id]
        self.policy = MultitaskPolicy(self.learner, task_id, wm.cfg.obs_dim, task_action_dim)
        self.budget = s.steps
        self.description = (
            f"training pwm on {s.task} (task {task_id} of {task_set}, seed {s.seed}): {s.steps} policy iterations "
            f"from {{}}, {B} rollouts x H{H}, world model {cfg.world_model} "
            f"({sum(p.numel() for p in wm.parameters()):,} params, latent {wm.cfg.latent_dim}), "
            f"{self.sampler.num_episodes} offline episodes in {cfg.data_dir}, critic targets "
            f"{self.learner.critic_target}, on {s.device} with {s.threads} thread(s)"
        )

    def done(self) -> bool:
        return self.learner.iteration >= self.budget

    def train_step(self) -> dict:
        with torch.no_grad():
            z0 = self.wm.encode(self.sampler.sample().obs[0], self.task_id)
        self.step = self.learner.iteration + 1
        info = self.learner.update(z0, self.task_id, self.budget)
        self.step = self.learner.iteration
        self.train_return = info["imagined_return"]
        return info

    def progress_line(self, means, rate: float) -> str:
        return "[pwm] " + " ".join(f"{k}={v:.4g}" for k, v in means.items()) + f" iterations/s={rate:.2f}"

    def modules(self) -> dict:
        return {"actor": self.learner.actor, "critic": self.learner.critic}

    def state_dict(self) -> dict:
        return {"learner": self.learner.state_dict(), "sampler_rng": self.sampler.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.learner.load_state_dict(state["learner"])
        self.sampler.generator.set_state(state["sampler_rng"])
        self.step = self.learner.iteration


def train_multitask(run: Run, cfg) -> None:
    cadence = Cadence(int(cfg.progress_every), checkpoint_interval_s=float(cfg.checkpoint_interval_s))
    run.train(MultitaskPWMLearner(run, cfg), cadence)

"""Evaluate a world-model checkpoint by MPPI planning, task by task (``pwm-bench eval-planning``).

This applies TD-MPC2's multitask evaluation procedure to whatever checkpoint it is given: the model
acts by MPPI planning (eval mode: no added noise; ``PlannerConfig``: horizon 3, 6 iterations + 2
for action dims >= 20, unless overridden) on each task of its suite, seeing the task's observation
zero-padded to the model's obs dim and its action dims masked. Episodes run through
``pwm.evaluate`` with the same seeds as every training run's evaluations, so the rows can be
aggregated beside any other algorithm's ``eval.csv``.

What the score means depends on the checkpoint. The workflow's ``eval_tdmpc2`` rule (algo label
``tdmpc2_planning``) passes the world model that PWM uses, pretrained with PWM's settings (horizon
16, rho 0.99), and plans 3 steps ahead with it: that is "MPPI planning with PWM's world model", not
the TD-MPC2 paper's score (its agents are trained with horizon 3, rho 0.5 and plan with the same
horizon they were trained on). Given one of TD-MPC2's own checkpoints, it measures that agent.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pwm import atomic
from pwm.checkpoint import load_tdmpc2
from pwm.envs import get_spec
from pwm.envs.suites import TASK_SETS
from pwm.evaluate import evaluate
from pwm.planning import MPPIPlanner, PlannerConfig, discount_heuristic, planning_iterations
from pwm.run import EVAL_COLUMNS, EVAL_SEED_OFFSET, log


def planner_settings(planner: dict | None) -> dict:
    """``planner`` (eval-planning's key=value items) checked against PlannerConfig's fields, as
    pwm.hparams checks an algorithm's: an unknown key or a wrong type is a one-line ValueError."""
    from dataclasses import fields

    from pwm.hparams import check_hparam_values, types_of_default

    expected = {f.name: types_of_default(f.default) for f in fields(PlannerConfig)}
    check_hparam_values(planner or {}, expected, "planner", allowed_in="PlannerConfig")
    return dict(planner or {})


class PlanningPolicy:
    """obs (the task's own dims) -> action (the task's own dims) by planning with task id ``task``.

    Episode starts (which reset the warm start) are announced by ``pwm.evaluate`` through
    :meth:`begin_episode`; counting steps modulo the episode length is the fallback."""

    def __init__(
        self, planner: MPPIPlanner, obs_dim: int, action_dim: int, episode_length: int, task: int | None = None
    ):
        self.planner, self.obs_dim, self.action_dim = planner, obs_dim, action_dim
        self.episode_length, self.task, self.t = episode_length, task, 0

    def begin_episode(self) -> None:
        self.t = 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        padded = torch.zeros(self.obs_dim)
        padded[: len(obs)] = torch.as_tensor(obs, dtype=torch.float32)
        action = self.planner.plan(padded, self.task, t0=self.t % self.episode_length == 0, eval_mode=True)
        self.t += 1
        return action[: self.action_dim].cpu().numpy()


def eval_planning(
    checkpoint,
    tasks: list[str],
    out,
    task_set: str | None = None,
    episodes: int = 10,
    seed: int = 1,
    step: int = 0,
    algo: str = "tdmpc2-planning",
    planner: dict | None = None,
    device: str = "cpu",
    threads: int = 1,
) -> pd.DataFrame:
    """One eval.csv row per task (written atomically to ``out``), and a manifest.json beside it
    when it evaluates one task (the workflow's eval_tdmpc2 jobs; pwm.manifest)."""
    from pwm import rng
    from pwm.manifest import Manifest

    torch.set_num_threads(threads)
    rng.seed_all(seed)
    manifest = Manifest(Path(out).parent, {"algo": algo, "task": tasks[0], "seed": seed}) if len(tasks) == 1 else None
    if manifest is not None:
        settings = {"checkpoint": str(checkpoint), "episodes": episodes, "device": device, "threads": threads}
        manifest.start(settings, {"world_model": str(checkpoint), **(planner or {})}, {"evaluation": seed})
    table = TASK_SETS.get(task_set) if task_set else None
    action_dims = tuple(a for _, _, a in table) if table else None
    model = load_tdmpc2(checkpoint, action_dims=action_dims if action_dims else None, device=device).eval()
    if model.multitask and table is None:
        raise ValueError(f"{checkpoint} is a multitask model ({model.cfg.num_tasks} tasks): pass its task set")
    if model.multitask and model.cfg.num_tasks != len(table):
        raise ValueError(f"{checkpoint} has {model.cfg.num_tasks} tasks but {task_set} has {len(table)}")
    names = [name for name, _, _ in table] if table else []
    cfg = PlannerConfig(**planner_settings(planner))
    log(
        f"[eval-planning] MPPI horizon {cfg.horizon}, {planning_iterations(cfg.iterations, model.cfg.action_dim)} "
        f"iterations (action dim {model.cfg.action_dim}), {cfg.num_samples} samples, {cfg.num_elites} elites"
    )
    start, rows = time.time(), []
    for task in tasks:
        spec = get_spec(task)
        if model.multitask:
            if task not in names:
                raise ValueError(f"task {task!r} is not in {task_set}, so the model has no embedding for it")
            task_id = names.index(task)
            lengths = torch.tensor([get_spec(n).episode_length for n in names])
            discount = discount_heuristic(lengths)
            action_dim = action_dims[task_id]
        else:
            task_id, discount, action_dim = None, discount_heuristic(spec.episode_length), model.cfg.action_dim
        policy = PlanningPolicy(
            MPPIPlanner(model, cfg, discount), model.cfg.obs_dim, action_dim, spec.episode_length, task_id
        )
        result = evaluate(policy, task, episodes=episodes, seed=seed + EVAL_SEED_OFFSET)
        rows.append(
            dict(
                algo=algo,
                task=task,
                seed=seed,
                step=step,
                env_steps=step,
                wall_time_s=round(time.time() - start, 3),
                episode_reward=result.episode_reward,
                episode_success=result.episode_success,
            )
        )
        log(
            f"[eval-planning] {task}: episode_reward={result.episode_reward:.1f} "
            f"episode_success={result.episode_success:.2f} (over {episodes} episodes)"
        )
    frame = pd.DataFrame(rows, columns=EVAL_COLUMNS)
    if manifest is not None:
        manifest.finish(time.time() - start, steps=episodes * spec.episode_length, env_steps=0, device=device)
    atomic.write_csv(Path(out), frame)
    return frame

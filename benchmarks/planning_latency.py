"""Per-decision latency of TD-MPC2's MPPI planning, with the agent loaded from a checkpoint.

For each configuration a world model is written in TD-MPC2's checkpoint format, loaded back with
``pwm.checkpoint.load_tdmpc2`` (or ``--checkpoint`` is loaded, e.g. a ``pwm-bench pretrain``
output) and one decision is timed as the agent takes it: encode the observation, 6 MPPI
iterations of 512 samples over horizon 3 with 24 policy trajectories, warm start, elite choice
(eval mode). Reported: median ms over ``--iters`` timed decisions after ``--warmup``, matmul
GFLOP per decision (torch FlopCounterMode), time / floor with the float32 matmul peak measured in
the same run, and the policy-prior action (encode + pi mean) for the PWM-style ratio.

    python benchmarks/planning_latency.py [--threads 1] [--iters 10] [--checkpoint PATH --task-set mt30]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from pwm.checkpoint import load_tdmpc2, save_tdmpc2
from pwm.envs.suites import TASK_SETS
from pwm.planning import MPPIPlanner, PlannerConfig, discount_heuristic
from pwm.world_model import WorldModel, WorldModelConfig

# (label, model_size, obs_dim, action_dim, task_set); reference 1-thread ms from docs/reference-notes.md §8
CONFIGS = [
    ("cartpole-balance", 1, 5, 1, None),
    ("walker-walk", 5, 24, 6, None),
    ("mt30", 1, 24, 6, "mt30"),
    ("mt30", 5, 24, 6, "mt30"),
]
REFERENCE_MS = {("walker-walk", 5): 835, ("mt30", 1): 339, ("mt30", 5): 899}


def matmul_peak(n=2048, reps=5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e9


def model_from_checkpoint(size, obs_dim, action_dim, task_set, path: Path) -> WorldModel:
    table = TASK_SETS.get(task_set) if task_set else None
    cfg = WorldModelConfig.for_model_size(
        size, obs_dim, action_dim, task_set=task_set, action_dims=tuple(a for _, _, a in table) if table else None
    )
    save_tdmpc2(WorldModel(cfg), path)
    return load_tdmpc2(path, action_dims=cfg.action_dims)


def time_decisions(planner: MPPIPlanner, obs, task, iters, warmup):
    planner.plan(obs, task, t0=True, eval_mode=True)
    for _ in range(warmup):
        planner.plan(obs, task, eval_mode=True)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        planner.plan(obs, task, eval_mode=True)
        times.append(time.perf_counter() - t)
    with FlopCounterMode(display=False) as counter:
        planner.plan(obs, task, eval_mode=True)
    return statistics.median(times) * 1e3, counter.get_total_flops() / 1e9


@torch.no_grad()
def policy_action_ms(model: WorldModel, obs, task, iters=200) -> float:
    t_arg = task if model.multitask else None
    x = obs.unsqueeze(0)
    model.pi(model.encode(x, t_arg), t_arg)
    t = time.perf_counter()
    for _ in range(iters):
        model.pi(model.encode(x, t_arg), t_arg)[1]["mean"]
    return (time.perf_counter() - t) / iters * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--checkpoint", help="plan with this TD-MPC2-format checkpoint instead")
    parser.add_argument("--task-set", help="its task set (mt30/mt80) if it is multitask")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    peak = matmul_peak()
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s), "
        f"matmul peak {peak:.0f} GFLOP/s"
    )
    print("| model | size | params | plan ms | GFLOP | time/floor | reference ms (1 thr) | pi action ms | plan / pi |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        if args.checkpoint:
            table = TASK_SETS.get(args.task_set) if args.task_set else None
            model = load_tdmpc2(args.checkpoint, action_dims=tuple(a for _, _, a in table) if table else None)
            runs = [(Path(args.checkpoint).name, model.cfg.model_size, model)]
        else:
            runs = [
                (label, size, model_from_checkpoint(size, o, a, ts, Path(tmp) / f"{label}-{size}.pt"))
                for label, size, o, a, ts in CONFIGS
            ]
        for label, size, model in runs:
            model.eval()
            task = 8 if model.multitask else None  # cartpole-balance's id in mt30/mt80
            discount = discount_heuristic(torch.full((model.cfg.num_tasks,), 500)) if model.multitask else 0.99
            planner = MPPIPlanner(model, PlannerConfig(), discount)
            obs = torch.randn(model.cfg.obs_dim)
            ms, gflop = time_decisions(planner, obs, task, args.iters, args.warmup)
            pi_ms = policy_action_ms(model, obs, task)
            ref = REFERENCE_MS.get((label, size))
            print(
                f"| {label} | {size} | {model.total_params:,} | {ms:.0f} | {gflop:.1f} | {ms / (gflop / peak * 1e3):.2f} "
                f"| {ref if ref else '-'} | {pi_ms:.2f} | {ms / pi_ms:.0f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()

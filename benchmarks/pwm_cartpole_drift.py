"""Where a multitask PWM actor takes the cart on the cartpole tasks: drift or a falling pole?

On `mt-small`'s cartpole-balance, PWM ends below a random policy (benchmarks/RESULTS.md,
"Multitask PWM: world-model budget and data size"). This rolls a finished run's actor (deterministic,
as evaluated) in the real environment and prints, per episode, the return, the cart position and
the pole's cosine at the start, the quarters and the end of the episode (the first two entries of
the cartpole observation), and the actor's mean and mean absolute action. A policy whose mean action
is not 0 pushes the cart to the rail, where the `centered` reward term and then the pole are lost.

    python benchmarks/pwm_cartpole_drift.py --world-model results/mt-small/world_model/model.pt \\
        --runs results/mt-small/runs/pwm/cartpole-balance/seed1 --episodes 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from pwm_mt_model_error import load_run, load_world_model, policy_episodes


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world-model", required=True, help="the multitask checkpoint the PWM runs learned in")
    p.add_argument("--runs", nargs="+", required=True, help="multitask PWM run directories on cartpole tasks")
    p.add_argument("--task-set", default="mt30")
    p.add_argument("--episodes", type=int, default=2)
    p.add_argument("--seed", type=int, default=100)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    wm, table, names = load_world_model(args.world_model, args.task_set)
    print("| run | return | decisions | cart x: start, quarters, end | pole cos: same | mean a | mean abs a |")
    print("|---|---|---|---|---|---|---|")
    for run in map(Path, args.runs):
        r = load_run(run, wm, table, names)
        if not r.task.startswith("cartpole"):
            p.error(f"{run}: task {r.task!r} is not a cartpole task")
        for obs, acts, rews in policy_episodes(
            r.task, r.actor, r.mask, wm, r.task_id, r.obs_dim, r.act_dim, args.episodes, args.seed
        ):
            at = [0, len(rews) // 4, len(rews) // 2, 3 * len(rews) // 4, len(rews) - 1]
            x = ", ".join(f"{float(obs[i, 0]):+.2f}" for i in at)
            cos = ", ".join(f"{float(obs[i, 1]):+.2f}" for i in at)
            a = acts[:, 0]
            print(
                f"| {run} | {float(rews.sum()):.1f} | {len(rews)} | {x} | {cos} | {float(a.mean()):+.3f} | "
                f"{float(a.abs().mean()):.3f} |"
            )


if __name__ == "__main__":
    main()

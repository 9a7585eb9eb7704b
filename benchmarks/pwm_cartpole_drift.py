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

from pwm.checkpoint import load_tdmpc2
from pwm.config_io import TASK_SETS, task_names
from pwm.multitask_pwm import read_multitask_checkpoint
from pwm.policy_learning import freeze
from pwm_mt_model_error import load_actor, policy_episodes


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world-model", required=True, help="the multitask checkpoint the PWM runs learned in")
    p.add_argument("--runs", nargs="+", required=True, help="multitask PWM run directories on cartpole tasks")
    p.add_argument("--task-set", default="mt30")
    p.add_argument("--episodes", type=int, default=2)
    p.add_argument("--seed", type=int, default=100)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    sd, _ = read_multitask_checkpoint(args.world_model)
    table = TASK_SETS[args.task_set]
    wm = freeze(load_tdmpc2(sd, action_dims=tuple(a for _, _, a in table)))
    names = task_names(args.task_set)
    print("| run | return | decisions | cart x: start, quarters, end | pole cos: same | mean a | mean abs a |")
    print("|---|---|---|---|---|---|---|")
    for run in map(Path, args.runs):
        actor, _, cfg, task = load_actor(run, wm)
        if not task.startswith("cartpole"):
            p.error(f"{run}: task {task!r} is not a cartpole task")
        task_id = names.index(task)
        _, obs_dim, act_dim = table[task_id]
        mask = wm.action_mask(task_id) if cfg.mask_actions else None
        for obs, acts, rews in policy_episodes(task, actor, mask, wm, task_id, obs_dim, act_dim,
                                               args.episodes, args.seed):
            at = [0, len(rews) // 4, len(rews) // 2, 3 * len(rews) // 4, len(rews) - 1]
            x = ", ".join(f"{float(obs[i, 0]):+.2f}" for i in at)
            cos = ", ".join(f"{float(obs[i, 1]):+.2f}" for i in at)
            a = acts[:, 0]
            print(f"| {run} | {float(rews.sum()):.1f} | {len(rews)} | {x} | {cos} | {float(a.mean()):+.3f} | "
                  f"{float(a.abs().mean()):.3f} |")


if __name__ == "__main__":
    main()

"""Seconds per SHAC iteration on dflex and on this project's MuJoCo backend, task by task, in one run.

    python benchmarks/dflex_vs_mujoco.py --tasks hopper ant humanoid --iterations 3

Needs dflex installed (README.md, "dflex tasks"). For each MuJoCo task and its dflex task (hopper /
dflex-hopper, quadruped / dflex-anymal, muscle-legs / dflex-snu-humanoid, ...): the same SHAC (preset
``--preset``, the twin's defaults, ``--num-envs`` envs x 32 steps, actor + critic update), the median
and minimum over ``--iterations`` timed iterations after one warm-up, with the actor part (simulation
+ backward) beside it, and the gradient-free simulation rate. MuJoCo runs with ``--threads`` physics
threads; dflex on the CPU with one torch thread (more make it slower: issue 22). The two simulators'
physics differ (substeps, contact models), so this compares the cost of a SHAC iteration, not of
equal work. Print the load average with the table: timings need the machine to themselves.
"""

from __future__ import annotations

import argparse
import os
import statistics

import torch

from baselines.shac import config_for
from pwm.envs.suites import dflex_task
from shac_iteration import no_grad_steps_per_second, time_shac_iterations  # benchmarks/, beside this script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["hopper", "ant", "humanoid"], help="MuJoCo task names")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="MuJoCo physics threads")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--preset", default="pwm", choices=["diffrl", "pwm"])
    args = parser.parse_args()
    torch.set_num_threads(1)  # as baselines/shac.py does
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; {args.num_envs} envs, preset {args.preset}, "
        f"MuJoCo with {args.threads} physics thread(s), dflex on the CPU with 1 torch thread",
        flush=True,
    )
    print("| task | simulator | s/iter median | min | actor s (median) | no-grad env steps/s |")
    print("|---|---|---|---|---|---|", flush=True)
    for task in args.tasks:
        for name, threads in ((task, args.threads), (dflex_task(task), 1)):
            cfg = config_for(name, {"num_envs": args.num_envs, "preset": args.preset})
            times = time_shac_iterations(name, cfg, threads, args.iterations)
            total, actor = times["total"], times["actor"]
            rate = no_grad_steps_per_second(name, args.num_envs, threads, steps=32)
            simulator = "dflex" if name.startswith("dflex-") else f"MuJoCo FD, {threads} thr"
            print(
                f"| {name} | {simulator} | {statistics.median(total):.2f} | {min(total):.2f} | "
                f"{statistics.median(actor):.2f} | {rate:.0f} |",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()

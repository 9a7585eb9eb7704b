"""Cost of the high-dimensional differentiable tasks (``quadruped``, ``muscle-legs``) on the CPU.

    python benchmarks/highdim_envs.py --threads 2 --iterations 1

Per task: seconds per simulated control step of one env without gradients (``mj_step`` only),
seconds per control step with FD Jacobians (``mjd_transitionFD`` on each of the 2 substeps, the
cost that grows with 2nv + na + nu perturbed steps), both measured on one thread, and seconds per
SHAC iteration (64 envs × 32 steps, actor + critic) with ``--threads`` physics threads, median of
``--iterations`` after one warm-up (``--iterations 0`` skips SHAC). It also prints the projected
cost of a full SHAC run (DiffRL's 2000 iterations). The machine is shared: timings are noisy upper
bounds; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from baselines.shac import SHAC, config_for
from pwm.envs.diff import DiffEnv

TASKS = ("quadruped", "muscle-legs")


def per_step_seconds(task: str, jacobians: bool, steps: int) -> float:
    env = DiffEnv(task, 1, seed=0, threads=1)
    env.reset()
    backend = env.backend
    qpos, qvel = env.qpos.numpy(), env.qvel.numpy()
    ctrl = env.task.control(torch.zeros(1, env.act_dim, dtype=torch.float64)).numpy()
    backend.step(qpos, qvel, ctrl, jacobians=jacobians)  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        result = backend.step(qpos, qvel, ctrl, jacobians=jacobians)
        qpos, qvel = result.qpos, result.qvel
    elapsed = (time.perf_counter() - start) / steps
    env.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--full-run-iterations", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; SHAC with 64 envs, {args.threads} physics threads", flush=True
    )
    print(
        f"{'task':12s} {'nv':>3s} {'na':>3s} {'nu':>3s} {'ms/step':>8s} {'ms/step+FD':>10s} "
        f"{'s/SHAC it':>9s} {'full run h':>10s}",
        flush=True,
    )
    for task in args.tasks:
        no_grad = per_step_seconds(task, False, 200)
        with_fd = per_step_seconds(task, True, 20)
        model = DiffEnv(task, 1).backend.model
        s_iter = float("nan")
        if args.iterations > 0:
            agent = SHAC(task, config_for(task, {"num_envs": 64}), seed=0, threads=args.threads)
            agent.iterate(args.full_run_iterations)  # warm-up
            s_iter = statistics.median(agent.iterate(args.full_run_iterations)["time"] for _ in range(args.iterations))
            agent.env.close()
        hours = s_iter * args.full_run_iterations / 3600.0
        print(
            f"{task:12s} {model.nv:3d} {model.na:3d} {model.nu:3d} {1e3 * no_grad:8.3f} {1e3 * with_fd:10.2f} "
            f"{s_iter:9.2f} {hours:10.1f}",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    np.set_printoptions()


if __name__ == "__main__":
    main()

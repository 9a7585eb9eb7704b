"""Seconds per SHAC iteration (64 envs x 32 steps, actor + critic update) for each differentiable task.

    python benchmarks/shac_iteration.py --threads 2 --iterations 3

Prints, per task, the median over ``--iterations`` timed iterations (after one warm-up) of the
whole iteration and of its actor part (simulation with FD Jacobians + backward), plus the
gradient-free simulation speed, and the finite-difference floor of one iteration measured in the
same run: MuJoCo's ``mjd_transitionFD`` and ``mj_step`` alone for every env, control step and
substep of an iteration (the same envs x horizon x substeps, states from a real rollout), spread
over the same physics threads with nothing else in the loop. ``actor / floor`` is how far the
differentiable step (with the actor's forward and backward) is from that floor (issue 18's
target: 1.5). Timings on a shared machine are noisy: compare minima, and note the load average
printed with the table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np
import torch

from baselines.shac import SHAC, config_for
from pwm.envs.batched import make_batched_env
from pwm.envs.diff import TASK_CLASSES, DiffEnv


def no_grad_steps_per_second(task: str, num_envs: int, threads: int, steps: int = 64) -> float:
    """Env steps per second on the gradient-free path (any differentiable task, MuJoCo or dflex)."""
    env = make_batched_env(task, num_envs, seed=0, threads=threads)
    env.reset()
    actions = torch.zeros(num_envs, env.act_dim)
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(steps):
            env.step(actions)
    elapsed = time.perf_counter() - start
    env.close()
    return steps * num_envs / elapsed


def time_shac_iterations(task: str, cfg: dict, threads: int, iterations: int) -> tuple[list, list]:
    """(seconds of each whole iteration, of each actor part) over ``iterations`` after one warm-up."""
    agent = SHAC(task, cfg, seed=0, threads=threads)
    agent.iterate(1000)  # warm-up
    stats = [agent.iterate(1000) for _ in range(iterations)]
    agent.env.close()
    return [s["time"] for s in stats], [s["actor_time"] for s in stats]


def fd_floor_seconds(task: str, num_envs: int, horizon: int, threads: int, repeats: int = 3) -> float:
    """Seconds of the FD Jacobians and steps of one iteration alone (minimum of ``repeats``)."""
    env = DiffEnv(task, num_envs, seed=0, threads=1)
    backend = env.backend
    model, substeps, ns = backend.model, backend.substeps, 2 * backend.nv + backend.na
    env.reset()
    states = []
    with torch.no_grad():  # real states: a rollout with random actions
        for _ in range(horizon):
            states.append((env.qpos.numpy().copy(), env.qvel.numpy().copy()))
            env.step(torch.rand(num_envs, env.act_dim) * 2 - 1)
    env.close()
    datas = [mujoco.MjData(model) for _ in range(num_envs)]

    def work(rows):
        a, b = np.zeros((ns, ns)), np.zeros((ns, model.nu))
        for qpos, qvel in states:
            for i in rows:
                d = datas[i]
                d.qpos[:], d.qvel[:] = qpos[i], qvel[i, : model.nv]
                for _ in range(substeps):
                    mujoco.mjd_transitionFD(model, d, 1e-6, False, a, b, None, None)
                    mujoco.mj_step(model, d)

    chunks = [c for c in np.array_split(np.arange(num_envs), threads) if len(c)]
    best = float("inf")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            list(pool.map(work, chunks))
            best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASK_CLASSES))
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as baselines/shac.py does: the thread budget goes to the physics pool
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; {args.num_envs} envs, {args.threads} physics threads",
        flush=True,
    )
    print(
        f"{'task':10s} {'s/iter median':>13s} {'min':>6s} {'actor s':>8s} {'FD floor s':>10s} {'actor/floor':>11s} "
        f"{'no-grad env steps/s':>20s}",
        flush=True,
    )
    for task in args.tasks:
        cfg = config_for(task, {"num_envs": args.num_envs})
        total, actor = time_shac_iterations(task, cfg, args.threads, args.iterations)
        rate = no_grad_steps_per_second(task, args.num_envs, args.threads)
        floor = fd_floor_seconds(task, args.num_envs, int(cfg["horizon"]), args.threads)
        print(
            f"{task:10s} {statistics.median(total):13.2f} {min(total):6.2f} {statistics.median(actor):8.2f} "
            f"{floor:10.3f} {statistics.median(actor) / floor:11.2f} {rate:20.0f}",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()

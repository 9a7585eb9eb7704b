"""Seconds per SHAC iteration (64 envs x 32 steps, actor + critic update) for each differentiable task.

    python benchmarks/shac_iteration.py --threads 2 --iterations 3

Prints, per task, the median over ``--iterations`` timed iterations (after one warm-up) of the
whole iteration and of its actor part (simulation with FD Jacobians, policy, critic, backward);
the median over as many repeats of the differentiable step alone (``diff step s``: 64 envs
stepped ``horizon`` times from a reset with grad from random leaf actions, and the backward
through them: no policy, no critic); and the gradient-free simulation speed. Each timed repeat
has its finite-difference floor (``floor s``), measured right after it: MuJoCo's
``mjd_transitionFD`` and ``mj_step`` alone for exactly the inputs that repeat gave the backend
(every env, control step and substep, recorded while it ran), spread over the same physics
threads with no barrier between steps and nothing in the loop but setting each env's state.
``step/floor`` (issue 18's measure, target 1.5) and ``actor/floor`` (SHAC's policy and critic
added) are medians of each repeat's ratio to its own floor, so a machine whose speed drifts
between repeats moves both alike. Note the load average printed with the table.
"""

from __future__ import annotations

import argparse
import gc
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
from pwm.envs.diff.backend import MujocoFDBackend


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


class BackendInputs:
    """Records what a differentiable env's backend is asked to step with Jacobians, for the floor."""

    def __init__(self, env):
        self.backend, self.inputs, self._step = env.backend, [], env.backend.step
        self.backend.step = self._recording_step

    def _recording_step(self, qpos, qvel, ctrl, jacobians=False):
        if jacobians:
            self.inputs.append((np.array(qpos), np.array(qvel), np.array(ctrl)))
        return self._step(qpos, qvel, ctrl, jacobians)

    def floor_seconds(self, threads: int, repeats: int = 2) -> float:
        """Seconds of MuJoCo's ``mjd_transitionFD`` and ``mj_step`` alone for the inputs recorded
        since the last call (every env, control step and substep), spread over ``threads`` with no
        barrier between steps and nothing in the loop but setting each env's state; the minimum of
        ``repeats``. Forgets the inputs."""
        model, substeps = self.backend.model, self.backend.substeps
        ns, num_envs = 2 * model.nv + model.na, max(len(q) for q, _, _ in self.inputs)
        datas = [mujoco.MjData(model) for _ in range(num_envs)]
        spec = int(mujoco.mjtState.mjSTATE_QPOS | mujoco.mjtState.mjSTATE_QVEL | mujoco.mjtState.mjSTATE_ACT)
        spec |= int(mujoco.mjtState.mjSTATE_CTRL)
        packed = [np.concatenate([q, v, c], -1) for q, v, c in self.inputs]  # mj_setState's order
        self.inputs = []

        def work(rows):
            a, b = np.zeros((ns, ns)), np.zeros((ns, model.nu))
            for step_rows in packed:
                for i in rows[rows < len(step_rows)]:
                    d = datas[i]
                    mujoco.mj_setState(model, d, step_rows[i], spec)
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


def time_shac_iterations(task: str, cfg: dict, threads: int, iterations: int, gc_freeze: bool = True) -> dict:
    """Seconds of each whole iteration (``total``) and of each actor part (``actor``), over
    ``iterations`` after one warm-up, and each iteration's FD floor (``floor``), measured right
    after it on its own states (MuJoCo's FD backend only; none for dflex)."""
    agent = SHAC(task, cfg, seed=0, threads=threads)
    if gc_freeze:
        gc.freeze()  # as pwm.training_loop does after start-up
    agent.iterate(1000)  # warm-up
    inputs = BackendInputs(agent.env) if isinstance(getattr(agent.env, "backend", None), MujocoFDBackend) else None
    times = {"total": [], "actor": [], "floor": []}
    for _ in range(iterations):
        stats = agent.iterate(1000)
        if inputs is not None:
            times["floor"].append(inputs.floor_seconds(threads))
        times["total"].append(stats["time"]), times["actor"].append(stats["actor_time"])
    agent.env.close()
    return times


def differentiable_step_seconds(task: str, num_envs: int, horizon: int, threads: int, repeats: int = 3) -> dict:
    """Seconds of ``horizon`` differentiable env steps and the backward through them (``step``),
    and of each repeat's FD floor measured right after it (``floor``): the simulator's share of an
    actor part, without the policy and the critic, from a reset with random actions."""
    env = DiffEnv(task, num_envs, seed=0, threads=threads)
    generator = torch.Generator().manual_seed(0)
    inputs = BackendInputs(env)
    times = {"step": [], "floor": []}
    for repeat in range(repeats + 1):  # the first is a warm-up
        env.reset()
        actions = (torch.rand(horizon, num_envs, env.act_dim, generator=generator) * 2 - 1).requires_grad_()
        start = time.perf_counter()
        total = torch.zeros(())
        for step_actions in actions:
            obs, reward, _, _ = env.step(step_actions)
            total = total + reward.sum() + obs.sum()
        total.backward()
        elapsed = time.perf_counter() - start
        if repeat:
            times["step"].append(elapsed), times["floor"].append(inputs.floor_seconds(threads))
        else:
            inputs.inputs = []  # the warm-up's inputs need no floor
    env.close()
    return times


def median_ratio(times: dict, key: str) -> float:
    """The median over repeats of ``times[key][i] / times["floor"][i]`` (each against its own floor)."""
    return statistics.median(t / f for t, f in zip(times[key], times["floor"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASK_CLASSES))
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave start-up's objects to the cyclic collector (what runs did before pwm.training_loop froze them)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)  # as baselines/shac.py does: the thread budget goes to the physics pool
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; {args.num_envs} envs, {args.threads} physics threads",
        flush=True,
    )
    print(
        f"{'task':10s} {'s/iter median':>13s} {'min':>6s} {'actor s':>8s} {'floor s':>8s} {'actor/floor':>11s} "
        f"{'diff step s':>11s} {'floor s':>10s} {'step/floor':>10s} {'no-grad env steps/s':>20s}",
        flush=True,
    )
    for task in args.tasks:
        cfg = config_for(task, {"num_envs": args.num_envs})
        it = time_shac_iterations(task, cfg, args.threads, args.iterations, not args.no_gc_freeze)
        rate = no_grad_steps_per_second(task, args.num_envs, args.threads)
        st = differentiable_step_seconds(task, args.num_envs, int(cfg["horizon"]), args.threads, args.iterations)
        med = statistics.median
        print(
            f"{task:10s} {med(it['total']):13.2f} {min(it['total']):6.2f} {med(it['actor']):8.2f} "
            f"{med(it['floor']):8.3f} {median_ratio(it, 'actor'):11.2f} {med(st['step']):11.3f} "
            f"{med(st['floor']):10.3f} {median_ratio(st, 'step'):10.2f} {rate:20.0f}",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()

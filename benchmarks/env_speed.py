"""Environment agent-steps per second for every MT80 task (random actions, 1 process, 1 thread).

Each task is built once and run for ``--steps`` agent steps (each = 2 simulator control steps,
TD-MPC2's action repeat) with uniform random actions, resetting at episode end; reset time is
included, construction time is reported separately. This is the simulation cost floor of data
collection and evaluation: a learner can never step faster than this.

    python benchmarks/env_speed.py [--suite mt80] [--steps 1000] [--tasks walker-walk mw-reach]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # this script's process only: one thread, as documented

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import pwm  # noqa: E402,F401
from pwm.envs import get_spec, make  # noqa: E402
from pwm.envs.suites import expand_tasks  # noqa: E402


def time_task(task: str, steps: int, seed: int = 0) -> dict:
    t0 = time.perf_counter()
    env = make(task, seed)
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1, 1, (steps,) + env.action_space.shape).astype(np.float32)
    resets = 1
    t0 = time.perf_counter()
    env.reset(seed=seed)
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
            resets += 1
    elapsed = time.perf_counter() - t0
    env.close()
    spec = get_spec(task)
    return dict(
        task=task,
        family=spec.family,
        obs=env.observation_space.shape[0],
        act=env.action_space.shape[0],
        build_s=build_s,
        resets=resets,
        ms_per_step=1e3 * elapsed / steps,
        steps_per_s=steps / elapsed,
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="mt80")
    parser.add_argument("--tasks", nargs="*", help="tasks or suites instead of --suite")
    parser.add_argument("--steps", type=int, default=1000, help="agent steps timed per task")
    args = parser.parse_args(argv)

    tasks = expand_tasks(args.tasks or [args.suite])
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}, {args.steps} agent steps per task (action repeat 2)"
    )
    print("| id | task | family | O | A | build s | resets | ms / agent step | agent steps / s |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for task_id, task in enumerate(tasks):
        r = time_task(task, args.steps)
        rows.append(r)
        print(
            f"| {task_id} | {r['task']} | {r['family']} | {r['obs']} | {r['act']} | {r['build_s']:.2f} | "
            f"{r['resets']} | {r['ms_per_step']:.3f} | {r['steps_per_s']:.0f} |",
            flush=True,
        )
    for family in dict.fromkeys(r["family"] for r in rows):
        rates = [r["steps_per_s"] for r in rows if r["family"] == family]
        print(
            f"# {family}: {len(rates)} tasks, median {np.median(rates):.0f} agent steps/s "
            f"(min {min(rates):.0f}, max {max(rates):.0f})"
        )


if __name__ == "__main__":
    main()

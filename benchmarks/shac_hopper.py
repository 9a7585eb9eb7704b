"""SHAC's learning run on the differentiable Hopper (not part of CI): prints the evaluation curve.

Runs ``pwm-bench train --algo shac --task hopper`` with DiffRL's Hopper config (256 envs x 32
steps per iteration) for ``--iterations`` iterations, then prints eval.csv and the wall time.

    python benchmarks/shac_hopper.py --iterations 300 --threads 2 --out results/bench/shac_hopper
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--eval-every-iterations", type=int, default=25)
    parser.add_argument("--eval-episodes", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/bench/shac_hopper")
    args = parser.parse_args()
    per_iteration = args.num_envs * 32
    cmd = [
        "pwm-bench",
        "train",
        "--algo",
        "shac",
        "--task",
        "hopper",
        "--seed",
        str(args.seed),
        "--out",
        args.out,
        "--steps",
        str(args.iterations * per_iteration),
        "--eval-every",
        str(args.eval_every_iterations * per_iteration),
        "--eval-episodes",
        str(args.eval_episodes),
        "--threads",
        str(args.threads),
        "--hparams",
        json.dumps({"num_envs": args.num_envs}),
    ]
    print(" ".join(cmd), flush=True)
    start = time.time()
    subprocess.run(cmd, check=True)
    wall = time.time() - start
    curve = pd.read_csv(Path(args.out) / "eval.csv")
    curve["iteration"] = curve["env_steps"] // per_iteration
    print(curve[["iteration", "env_steps", "wall_time_s", "episode_reward"]].to_string(index=False))
    print(
        f"wall time {wall / 60:.1f} min for {args.iterations} iterations "
        f"({wall / args.iterations:.2f} s/iteration including evaluations)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

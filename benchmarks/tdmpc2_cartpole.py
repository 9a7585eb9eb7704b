"""Online TD-MPC2 (model_size 1) on cartpole-balance: the acceptance run of the TD-MPC2 baseline.

Goal: an evaluation return >= 800 within 50k agent steps (TD-MPC2's published curve reaches 998
by 100k). One torch thread, evaluation every 2.5k steps, checkpointing so that rerunning the same
command continues a killed run. Evaluation uses eval-mode MPPI planning, which costs a full
planning call per step, so on a shared 2-core CPU the number of evaluation episodes is reduced
(``--eval-episodes``, default 2) to keep evaluations from dominating the wall time.

    nohup python benchmarks/tdmpc2_cartpole.py > results/bench/tdmpc2_cartpole/log.txt 2>&1 &
"""

from __future__ import annotations

import argparse
import sys

from pwm.cli import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/bench/tdmpc2_cartpole")
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--eval-every", type=int, default=2_500)
    parser.add_argument("--eval-episodes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    main(
        [
            "train",
            "--algo",
            "tdmpc2",
            "--task",
            "cartpole-balance",
            "--seed",
            str(args.seed),
            "--out",
            args.out,
            "--steps",
            str(args.steps),
            "--eval-every",
            str(args.eval_every),
            "--eval-episodes",
            str(args.eval_episodes),
            "--threads",
            str(args.threads),
            "--set",
            "model_size=1",
            "--set",
            "checkpoint_interval_s=300",
            "--set",
            "progress_every=250",
        ]
    )
    sys.exit(0)

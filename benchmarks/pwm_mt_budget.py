"""How multitask PWM's final score depends on the world model's budget and data size (issue 15).

A reproduction on a smaller machine must choose how many offline steps the world model gets and
how much data it sees. This measures it at laptop scale, with the project's own commands:

1. ``pwm-bench build-dataset`` merges the given collection runs (e.g. SAC runs with an exported
   replay, as the workflow's ``collect_algo: sac``) into a suite dataset; a second dataset keeps
   every other episode row of each task (half the data, spread over the whole collection run, so
   it is not just the random warm-up).
2. ``pwm-bench pretrain`` once per dataset up to the largest budget, with a checkpoint at every
   budget. Offline pretraining has a constant learning rate (TD-MPC2's), so the step-N checkpoint
   is what an N-step run gives.
3. ``pwm-bench train --algo pwm`` from every (dataset, budget) checkpoint, per task and seed.
4. A table: final return per task (mean over seeds), and the mean and IQM over (task, seed) of
   the normalised final return (rliable, 95% stratified-bootstrap CIs).

Every step is skipped when its output exists (PWM runs resume), so rerunning the same command
continues. Example (the table in RESULTS.md, the default's ``mt-small`` tasks and budgets):

    python benchmarks/pwm_mt_budget.py --out /tmp/mt-budget \\
        --runs results/sac-data/runs/sac/cartpole-balance/seed1 results/sac-data/runs/sac/cartpole-swingup/seed1 \\
        --budgets 300,750,1500 --batch-size 128 --pwm-steps 50 --pwm-batch-size 128 --seeds 1,2
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from functools import reduce
from pathlib import Path

import pandas as pd
import torch

from pwm import atomic
from pwm.analysis.aggregate import interval_estimates
from pwm.data.build import run_task
from pwm.data.chunks import chunk_paths, load_chunk, save_chunk
from pwm.envs.registry import get_spec


def run(cmd: list[str], log: Path) -> None:
    print("+", " ".join(cmd), flush=True)
    with log.open("a") as out:
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT)


def half_dataset(full_dir: Path, out_dir: Path) -> int:
    """Every other row of each task of ``full_dir``'s chunks -> ``out_dir/chunk_0.pt``; its transitions."""
    chunk = torch.cat([load_chunk(p, mmap=False) for p in chunk_paths(full_dir)], dim=0)
    task = chunk["task"][:, 0]
    keep = torch.cat([torch.nonzero(task == t).flatten()[::2] for t in torch.unique(task)])
    save_chunk(chunk[keep.sort().values], out_dir / "chunk_0.pt")
    return transitions(out_dir)


def transitions(data_dir: Path) -> int:
    return int(sum(torch.isfinite(load_chunk(p, mmap=False)["reward"][:, 1:]).sum() for p in chunk_paths(data_dir)))


def final_return(eval_csv: Path, steps: int) -> float | None:
    if not eval_csv.exists():
        return None
    table = pd.read_csv(eval_csv)
    last = table[table["step"] == steps]
    return float(last["episode_reward"].mean()) if len(last) else None


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", nargs="+", required=True, help="collection run directories (with dataset/)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--suite", default="mt30")
    p.add_argument("--budgets", default="300,750,1500", help="world-model gradient steps, comma-separated")
    p.add_argument("--batch-size", type=int, default=128, help="world-model batch size")
    p.add_argument("--model-size", type=int, default=1)
    p.add_argument("--pwm-steps", type=int, default=50, help="PWM policy iterations")
    p.add_argument("--pwm-batch-size", type=int, default=128)
    p.add_argument(
        "--pwm-hparams", default="{}", help="extra PWM hyperparameters, JSON (e.g. the default's critic_target)"
    )
    p.add_argument("--eval-episodes", type=int, default=5)
    p.add_argument("--eval-every", type=int, default=None, help="PWM evaluation interval (default: only the final one)")
    p.add_argument(
        "--datasets",
        default="full,half",
        help="which data sets to pretrain and train on now (two processes can split them; "
        "a last run with both prints the whole table)",
    )
    p.add_argument("--seeds", default="1,2")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    budgets = sorted(int(b) for b in args.budgets.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    tasks = [run_task(Path(r)) for r in args.runs]
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    log = out / "log.txt"

    data = {"full": out / "data-full", "half": out / "data-half"}
    selected = args.datasets.split(",")
    if not set(selected) <= set(data):
        p.error(f"--datasets {args.datasets!r}: expected a comma-separated subset of full,half")
    if not chunk_paths_or_none(data["full"]):
        run(["pwm-bench", "build-dataset", "--task-set", args.suite, "--out", str(data["full"]), *args.runs], log)
    if not chunk_paths_or_none(data["half"]):
        half_dataset(data["full"], data["half"])
    sizes = {name: transitions(d) for name, d in data.items()}

    every = reduce(math.gcd, budgets)
    data = {name: d for name, d in data.items() if name in selected}
    for name, d in data.items():
        wm = out / f"wm-{name}"
        if not (wm / "model.pt").exists():
            run(
                [
                    "pwm-bench",
                    "pretrain",
                    "--data",
                    str(d),
                    "--out",
                    str(wm),
                    "--task-set",
                    args.suite,
                    "--model-size",
                    str(args.model_size),
                    "--horizon",
                    "16",
                    "--rho",
                    "0.99",
                    "--batch-size",
                    str(args.batch_size),
                    "--steps",
                    str(budgets[-1]),
                    "--checkpoint-every",
                    str(every),
                    "--threads",
                    str(args.threads),
                ],
                log,
            )

    rows = []
    for name, d in data.items():
        for budget in budgets:
            ckpt = out / f"wm-{name}" / "checkpoints" / f"step_{budget}.pt"
            for task in tasks:
                for seed in seeds:
                    run_dir = out / "pwm" / f"{name}-{budget}" / task / f"seed{seed}"
                    score = final_return(run_dir / "eval.csv", args.pwm_steps)
                    if score is None:
                        hparams = json.dumps(
                            {"batch_size": args.pwm_batch_size, "mask_actions": True, **json.loads(args.pwm_hparams)}
                        )
                        run(
                            [
                                "pwm-bench",
                                "train",
                                "--algo",
                                "pwm",
                                "--task",
                                task,
                                "--seed",
                                str(seed),
                                "--out",
                                str(run_dir),
                                "--steps",
                                str(args.pwm_steps),
                                "--eval-every",
                                str(args.eval_every or args.pwm_steps),
                                "--eval-episodes",
                                str(args.eval_episodes),
                                "--hparams",
                                hparams,
                                "--set",
                                f"world_model={ckpt}",
                                "--set",
                                f"data_dir={d}",
                                "--threads",
                                str(args.threads),
                            ],
                            log,
                        )
                        score = final_return(run_dir / "eval.csv", args.pwm_steps)
                    rows.append(
                        dict(
                            data=name,
                            transitions=sizes[name],
                            wm_steps=budget,
                            task=task,
                            seed=seed,
                            final_return=score,
                            score=score / get_spec(task).max_return,
                        )
                    )
    table = pd.DataFrame(rows)
    atomic.write_csv(out / "scores.csv", table)
    print_table(table, tasks, seeds)


def chunk_paths_or_none(d: Path):
    return chunk_paths(d) if d.exists() and any(d.glob("*.pt")) else None


def print_table(table: pd.DataFrame, tasks: list[str], seeds: list[int]) -> None:
    """Markdown: one row per (data, budget); per-task mean final return, then mean and IQM [95% CI]."""
    head = ["data (transitions)", "WM steps", *tasks, "mean [95% CI]", "IQM [95% CI]"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for (name, budget), group in table.groupby(["data", "wm_steps"], sort=False):
        matrix = group.pivot(index="seed", columns="task", values="score").loc[seeds, tasks].to_numpy()
        est = interval_estimates({"pwm": matrix}, reps=2000, seed=0).set_index("metric")
        cells = [f"{group[group.task == t].final_return.mean():.1f}" for t in tasks]
        stat = [
            f"{est.loc[m, 'value']:.3f} [{est.loc[m, 'ci_low']:.3f}, {est.loc[m, 'ci_high']:.3f}]"
            for m in ("mean", "iqm")
        ]
        print(f"| {name} ({group.transitions.iloc[0]:,}) | {budget} | " + " | ".join(cells + stat) + " |")


if __name__ == "__main__":
    sys.exit(main())

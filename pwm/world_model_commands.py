"""`pwm-bench` sub-commands of the world-model pipelines: build-dataset, pretrain, eval-planning
(multitask) and pretrain-single (PWM's single-task world model on one task's offline data).

    pwm-bench build-dataset --suite mt30 --out DATA RUN_DIR [RUN_DIR ...]
    pwm-bench pretrain --data DATA --out OUT --task-set mt30 --model-size 1 --steps 10000 [lr=1e-3 ...]
    pwm-bench eval-planning --checkpoint OUT/model.pt --task-set mt30 --tasks cartpole-balance --out eval.csv [num_samples=128 ...]
    pwm-bench pretrain-single --task hopper --data RUN/rollouts.pt --out OUT --steps 50000 [wm_lr=1e-4 ...]

Settings beyond the options are ``key=value`` arguments (pwm/cli_options.py), as for ``train``.
"""

from __future__ import annotations

import argparse

from pwm.cli_options import add_override_arguments, hyperparameters, overrides


def _task_ids(text: str | None, task_set: str) -> list[int] | None:
    """ "8,10" or "cartpole-balance,cartpole-swingup" -> task ids of the set."""
    if not text:
        return None
    from pwm.envs.suites import suite_tasks

    names = suite_tasks(task_set)
    ids = []
    for item in text.split(","):
        item = item.strip()
        if item.isdigit():
            ids.append(int(item))
        elif item in names:
            ids.append(names.index(item))
        else:
            raise ValueError(f"--tasks: {item!r} is neither a task id nor a task of {task_set}")
    return ids


def _checked(algo: str, hparams: dict) -> dict:
    """``hparams`` after pwm.hparams' check against ``algo``'s defaults file: a bad key or type fails in
    one line (exit 3) before torch loads."""
    from pwm.hparams import check

    check(algo, None, hparams)
    return hparams


def cmd_build_dataset(args) -> None:
    from pwm.data.build import build_dataset

    paths = build_dataset(
        args.runs, args.suite, args.out, row_length=args.row_length, rows_per_chunk=args.rows_per_chunk
    )
    print(f"wrote {', '.join(map(str, paths))}", flush=True)


def cmd_pretrain(args) -> None:
    from pwm.pretrain import PretrainSettings, pretrain

    settings = PretrainSettings(
        data_dirs=args.data,
        out_dir=args.out,
        task_set=args.task_set,
        tasks=_task_ids(args.tasks, args.task_set),
        model_size=args.model_size,
        horizon=args.horizon,
        rho=args.rho,
        batch_size=args.batch_size,
        steps=args.steps,
        checkpoint_every=args.checkpoint_every,
        log_every=args.log_every,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        hparams=_checked("tdmpc2", overrides(args)),
        init_checkpoint=args.init_checkpoint,
    )
    pretrain(settings)


def cmd_pretrain_single(args) -> None:
    from pwm.agent import load_hparams
    from pwm.singletask_pretrain import pretrain_single

    cfg = load_hparams(_checked("pwm", hyperparameters(args)))
    pretrain_single(
        args.task,
        args.data,
        args.out,
        cfg,
        args.steps,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        device=args.device,
        threads=args.threads,
    )


def cmd_eval_planning(args) -> None:
    from pwm.envs.suites import expand_tasks
    from pwm.eval_planning import eval_planning

    eval_planning(
        args.checkpoint,
        expand_tasks(args.tasks.split(",")),
        args.out,
        task_set=args.task_set,
        episodes=args.episodes,
        seed=args.seed,
        step=args.step,
        algo=args.algo,
        planner=overrides(args),
        device=args.device,
        threads=args.threads,
    )


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build-dataset", help="merge tdmpc2 runs' replay buffers into a suite dataset")
    p.add_argument("runs", nargs="+", help="run directories of `train --algo tdmpc2` (with dataset/)")
    p.add_argument(
        "--task-set", "--suite", dest="suite", required=True, help="mt30 or mt80: task ids, padding and row length"
    )
    p.add_argument("--out", required=True, help="dataset directory (chunk_0.pt, ...)")
    p.add_argument("--row-length", type=int, help="rows per episode row (none: the task set's, 501 / 101)")
    p.add_argument("--rows-per-chunk", type=int, default=200_000)
    p.set_defaults(func=cmd_build_dataset)

    p = sub.add_parser("pretrain", help="offline multitask world-model training on TD-MPC2 chunks")
    p.add_argument("--data", action="append", required=True, help="dataset directory of *.pt chunks (repeatable)")
    p.add_argument("--out", required=True, help="output directory (model.pt, checkpoints/, losses.csv)")
    p.add_argument("--task-set", default="mt30", choices=["mt30", "mt80"])
    p.add_argument("--tasks", help="train only on these task ids or names of the set (comma-separated)")
    p.add_argument("--model-size", type=int, default=5)
    p.add_argument("--horizon", type=int, default=16)
    p.add_argument("--rho", type=float, default=0.99)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, required=True, help="gradient steps")
    p.add_argument("--checkpoint-every", type=int, default=10_000)
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--init-checkpoint", help="start from this TD-MPC2 checkpoint")
    add_override_arguments(p, "a key of pwm/configs/tdmpc2.yaml (lr, tau, ...)")
    p.set_defaults(func=cmd_pretrain)

    p = sub.add_parser("pretrain-single", help="offline pre-training of PWM's single-task world model")
    p.add_argument("--task", required=True, help="differentiable task the data come from (hopper, ant, ...)")
    p.add_argument(
        "--data",
        action="append",
        required=True,
        help="chunk file or directory of *.pt chunks (e.g. a SHAC run's rollouts.pt), repeatable",
    )
    p.add_argument("--out", required=True, help="output directory (world_model.pt, state.pt, losses.csv)")
    p.add_argument("--steps", type=int, required=True, help="gradient steps")
    p.add_argument("--checkpoint-every", type=int, default=5000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    add_override_arguments(p, "a key of pwm/configs/pwm.yaml (wm_latent_dim, wm_lr, horizon, ...)", json_alias=True)
    p.set_defaults(func=cmd_pretrain_single)

    p = sub.add_parser("eval-planning", help="evaluate a world-model checkpoint per task by MPPI planning")
    p.add_argument("--checkpoint", required=True, help="TD-MPC2-format checkpoint")
    p.add_argument("--tasks", required=True, help="comma-separated tasks or suite names")
    p.add_argument("--task-set", help="mt30/mt80 for multitask checkpoints (task ids, masks)")
    p.add_argument("--out", required=True, help="eval.csv to write")
    p.add_argument("--eval-episodes", "--episodes", dest="episodes", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--step", type=int, default=0, help="value of the step column (e.g. the pretraining step)")
    p.add_argument("--algo", default="tdmpc2_planning", help="value of the algo column")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    add_override_arguments(p, "a planner setting (iterations, num_samples, num_elites, ...)")
    p.set_defaults(func=cmd_eval_planning)

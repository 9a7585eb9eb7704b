"""`pwm-bench`: every job of the workflow, callable by hand.

Snakemake rules are thin calls of these sub-commands, so any single job (one training run, one
aggregation) can be rerun or debugged without Snakemake.

Exit codes: 0 done; 2 usage (unknown option, missing argument, malformed --set/--hparams);
3 bad input (a config value, file or name that is refused, said in one line before work starts);
4 a training run diverged (non-finite loss or parameters; the last good checkpoint is kept);
5 an output could not be written (disk full, permissions).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pwm.cli_options import add_hparams_option, add_set_option, hyperparameters

EXIT_USAGE, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_WRITE = 2, 3, 4, 5


class Parser(argparse.ArgumentParser):
    """Every (sub)command's parser: one help formatter, which prints each option's default once."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        # argparse's formatter shows defaults only in help texts; give a bare option one to show it in
        if (
            "help" not in kwargs
            and kwargs.get("default") not in (None, False, [])
            and kwargs.get("action") not in ("store_true", "store_false", "version")
        ):
            kwargs["help"] = "(default: %(default)s)"
        return super().add_argument(*args, **kwargs)


def cmd_train(args) -> None:
    from pwm import algorithms
    from pwm.run import Run, RunSettings

    hparams = hyperparameters(args)
    module = algorithms.load(args.algo)
    settings = RunSettings(
        algo=args.algo,
        task=args.task,
        seed=args.seed,
        out_dir=args.out,
        steps=args.steps,
        eval_every=args.eval_every,
        eval_episodes=args.eval_episodes,
        device=args.device,
        threads=args.threads,
        hparams=hparams,
    )
    module.train(Run(settings))


def cmd_tasks(args) -> None:
    """List tasks with the dims a model needs; with --suite, in suite order with the task id.

    ``term`` says whether episodes can end early by termination (then TD-MPC2's ``episodic: auto``
    is on for the task)."""
    from pwm.envs import get_spec, make, task_names
    from pwm.envs.suites import suite_tasks

    names = suite_tasks(args.suite) if args.suite else task_names()
    id_col = f"{'id':>3s} " if args.suite else ""
    print(
        f"{id_col}{'task':34s} {'obs':>4s} {'act':>4s} {'ep_len':>6s} {'repeat':>6s} "
        f"{'term':>4s} {'domain':14s} {'family':18s}"
    )
    for task_id, name in enumerate(names):
        spec = get_spec(name)
        env = make(name, 0)
        id_col = f"{task_id:3d} " if args.suite else ""
        print(
            f"{id_col}{name:34s} {env.observation_space.shape[0]:4d} {env.action_space.shape[0]:4d} "
            f"{spec.episode_length:6d} {spec.action_repeat:6d} {'yes' if spec.early_termination else 'no':>4s} "
            f"{spec.domain:14s} {spec.family:18s}",
            flush=True,
        )
        env.close()


def cmd_estimate(args) -> None:
    from pwm.estimate import cost_records, estimate, format_table, plan

    jobs = plan(args.configfile)
    records = cost_records([r for r in args.runs if Path(r).is_dir()])
    rows = estimate(jobs, records, pilot_seconds=args.pilot, device=args.device)
    print(
        f"{len(jobs)} jobs planned for {args.configfile or 'config.yaml'}; {sum(map(len, records.values()))} cost records"
    )
    print(format_table(rows, args.cores))


def cmd_collect(args) -> None:
    from pwm.analysis.scores import collect

    scores = collect(args.files, args.out)
    print(f"collected {len(scores)} rows from {len(args.files)} files -> {args.out}")


def cmd_check_config(args) -> None:
    """Check config files as the Snakefile does, without Snakemake: strict YAML (syntax errors,
    duplicate keys and non-UTF-8 bytes with file, line and column), the schema, then task,
    algorithm, budget and hyperparameter names. Snakemake's command line parses a --configfile
    itself before any workflow code runs and reports a syntax error with no file or line; this
    command names them."""
    from pwm import algorithms
    from pwm.config_io import load_yaml_strict
    from pwm.workflow_config import check_experiments, validate_config

    for path in args.files:
        config = load_yaml_strict(path)
        if not isinstance(config, dict):
            raise ValueError(f"{path}: expected a mapping of settings (experiments: ...), got {type(config).__name__}")
        try:
            validate_config(config, [path])
            check_experiments(config, algorithms.available(), local_exec=False)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        print(f"{path}: ok ({len(config['experiments'])} experiments)")


def build_parser() -> argparse.ArgumentParser:
    from pwm import __version__

    parser = Parser(prog="pwm-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pwm-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("train", help="train one algorithm on one task with one seed")
    p.add_argument("--algo", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="run directory (eval.csv, checkpoint.pt, ...)")
    p.add_argument("--steps", type=int, required=True, help="training budget in environment steps")
    p.add_argument("--eval-every", type=int, required=True)
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads (Snakemake: the rule's threads)")
    add_hparams_option(p, "algorithm hyperparameters as a JSON object")
    add_set_option(p, "override one hyperparameter (dotted keys allowed), repeatable")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tasks", help="list every task with its dimensions")
    p.add_argument(
        "--task-set", "--suite", dest="suite", help="list only this task set's tasks (mt30, mt80), in task-id order"
    )
    p.set_defaults(func=cmd_tasks)

    p = sub.add_parser("collect", help="eval.csv files -> one tidy scores.csv")
    p.add_argument("files", nargs="+")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser(
        "estimate", help="predicted wall, CPU and GPU hours of a config's DAG, per rule, with the basis of each"
    )
    p.add_argument("--configfile", help="the workflow config (default: config.yaml); run from the workflow's folder")
    p.add_argument(
        "--runs",
        nargs="*",
        default=["results"],
        help="folders searched for finished jobs' manifest.json (cost records)",
    )
    p.add_argument("--pilot", type=float, default=0.0, metavar="SECONDS", help="pilot-run jobs with no record")
    p.add_argument("--cores", type=int, default=2, help="cores the DAG would run on (for the wall-time bound)")
    p.add_argument("--device", default="cpu", help="cuda: count GPU hours for training and pre-training jobs")
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("check-config", help="check workflow config files (YAML, schema, names) without Snakemake")
    p.add_argument("files", nargs="+", help="config files (e.g. workflow/configs/paper-mt30.yaml)")
    p.set_defaults(func=cmd_check_config)

    from pwm.analysis.commands import add_commands as add_analysis_commands

    add_analysis_commands(sub)  # import, aggregate, figures
    from pwm.world_model_commands import add_commands as add_world_model_commands

    add_world_model_commands(sub)  # build-dataset, pretrain, eval-planning
    return parser


def exit_code(err: BaseException) -> int | None:
    """The exit status of an error a sub-command raised, or None for a bug (shown as a traceback).

    ``DivergedError`` is looked up only if ``pwm.run`` was imported: a command that never loaded the
    training harness (and torch with it) cannot have raised it, and the parser stays light."""
    from pwm.atomic import WriteError

    run = sys.modules.get("pwm.run")
    if run is not None and isinstance(err, run.DivergedError):
        return EXIT_DIVERGED
    if isinstance(err, WriteError):
        return EXIT_WRITE
    if isinstance(err, ValueError):
        return EXIT_BAD_INPUT
    return None


def main(argv: list[str] | None = None) -> None:
    import pwm  # noqa: F401  (sets MUJOCO_GL before any simulator import)

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except Exception as err:
        code = exit_code(err)
        if code is None:
            raise
        print(f"pwm-bench {args.command}: error: {err}", file=sys.stderr, flush=True)
        raise SystemExit(code) from None


if __name__ == "__main__":
    main()

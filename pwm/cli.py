"""`pwm-bench`: every job of the workflow, callable by hand.

Snakemake rules are thin calls of these sub-commands, so any single job (one training run, one
aggregation) can be rerun or debugged without Snakemake.

Hyperparameters are ``key=value`` arguments (Hydra's override grammar, pwm/cli_options.py) over each
algorithm's documented defaults file (pwm/hparams.py); ``pwm-bench train --algo X --task T
--show-config`` prints a run's resolved settings.

Exit codes: 0 done; 2 usage (unknown option, missing argument, malformed key=value or --hparams);
3 bad input (a config value, file or name that is refused, said in one line before work starts);
4 a training run diverged (non-finite loss or parameters; the last good checkpoint is kept);
5 an output could not be written (disk full, permissions).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pwm.cli_options import OVERRIDES, add_override_arguments, hyperparameters

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
    from pwm import hparams as hparams_files

    hparams = hyperparameters(args)
    if args.show_config:
        print(show_config(args, hparams), end="", flush=True)
        return
    # A bad key or type fails here, in one line, before the algorithm (torch, SB3, simulators) loads.
    hparams_files.check(args.algo, args.task, hparams)
    from pwm.run import Run, RunSettings

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


def show_config(args, hparams: dict) -> str:
    """``train --show-config``: the run settings and the resolved hyperparameters, as YAML.

    Nothing is trained or built: the hyperparameters come from the algorithm's defaults file with the
    task's block and the overrides applied (pwm.hparams.resolve), read without importing the algorithm.
    Values an algorithm derives when its run starts stay as the file documents them (SAC's
    ``buffer_size: null`` = min(steps, 1e6), TD-MPC2's ``seed_steps: null`` and ``episodic: auto``)."""
    import yaml

    from pwm import algorithms
    from pwm import hparams as hparams_files
    from pwm.envs.suites import task_family

    family = task_family(args.task)  # the stdlib task table; the registry only for an unknown name
    if family is None:
        from pwm.envs.registry import unknown_task_message

        raise ValueError(unknown_task_message(args.task))
    families = algorithms.task_families(args.algo)  # read from the source: imports no algorithm
    if families and family not in families:
        raise ValueError(
            f"{args.algo} trains on tasks of family {' or '.join(families)}; {args.task!r} is {family} "
            "(`pwm-bench tasks` lists each task's family)"
        )
    resolved = hparams_files.resolve(args.algo, args.task, hparams)
    path = hparams_files.defaults_path(args.algo)
    settings = {
        "algo": args.algo,
        "task": args.task,
        "seed": args.seed,
        "out_dir": args.out,
        "steps": args.steps,
        "eval_every": args.eval_every,
        "eval_episodes": args.eval_episodes,
        "device": args.device,
        "threads": args.threads,
        "defaults_file": hparams_files.shown_path(path) if path else None,
        "overrides": hparams,
        "hparams": resolved,
    }
    return yaml.safe_dump(settings, sort_keys=False, default_flow_style=None, width=100)


def train_epilog() -> str:
    """Where each algorithm's documented defaults live (listed from the files, importing nothing)."""
    from pwm import hparams as hparams_files

    files = "; ".join(f"{algo}: {path}" for algo, path in hparams_files.defaults_files().items())
    return (
        "Hyperparameters: KEY=VALUE arguments override the algorithm's documented defaults, one YAML "
        f"file per algorithm with a comment per key ({files}); an algorithm without one "
        "(random_policy) takes none. An unknown key or a value of the wrong type is an error (exit 3). "
        "--show-config prints the resolved settings and exits, e.g. `pwm-bench train --algo shac "
        "--task hopper preset=pwm num_envs=64 --show-config`. A workflow config's hparams reach a job "
        "as the same KEY=VALUE arguments."
    )


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
    line = None if args.suite else unavailable_families()
    if line:
        print(f"\n{line}")


def unavailable_families() -> str | None:
    """The line `pwm-bench tasks` ends with when a task family is not installed (dflex), else None."""
    from pwm.envs.dflex.availability import INSTRUCTIONS, missing_reason
    from pwm.envs.suites import DFLEX_TASKS

    reason = missing_reason()
    if reason is None:
        return None
    return f"family dflex: unavailable ({reason}); its tasks: {', '.join(DFLEX_TASKS)}. {INSTRUCTIONS}"


def cmd_estimate(args) -> None:
    from pwm.estimate import cost_records, estimate, format_table, plan

    jobs = plan(args.configfile)
    records = cost_records([r for r in args.runs if Path(r).is_dir()])
    rows = estimate(jobs, records, pilot_seconds=args.pilot, device=args.device)
    print(
        f"{len(jobs)} jobs planned for {args.configfile or 'config.yaml'}; {sum(map(len, records.values()))} cost records"
    )
    print(format_table(rows, args.cores))


def cmd_landscape(args) -> None:
    from pwm.landscape_report import landscape, parse_ablation

    ablations = dict(parse_ablation(text) for text in args.ablation)
    if len(ablations) != len(args.ablation):
        raise ValueError(f"--ablation names must differ, got {args.ablation}")
    try:
        horizons = [int(h) for h in args.horizons.split(",")]
    except ValueError:
        raise ValueError(f"--horizons must be comma-separated integers, got {args.horizons!r}") from None
    table = landscape(
        args.task,
        args.world_model,
        args.run,
        args.out_dir,
        horizons,
        start_states=args.start_states,
        points=args.points,
        grid=args.grid,
        grid_horizon=args.grid_horizon,
        gamma=args.gamma,
        seed=args.seed,
        model_terminations=args.model_terminations,
        ablations=ablations,
        run_models=args.run_models,
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


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
    from pwm.strict_yaml import load_yaml_strict
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


# train's options that --show-config does not need (required otherwise).
TRAIN_RUN_OPTIONS = {
    "--seed": dict(type=int),
    "--out": dict(help="run directory (eval.csv, checkpoint.pt, ...)"),
    "--steps": dict(type=int, help="training budget in environment steps"),
    "--eval-every": dict(type=int),
}


def build_parser() -> argparse.ArgumentParser:
    from pwm import __version__

    parser = Parser(prog="pwm-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pwm-bench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser(
        "train",
        help="train one algorithm on one task with one seed",
        description="Train one algorithm on one task with one seed.",
        epilog=train_epilog(),
    )
    p.add_argument("--algo", required=True)
    p.add_argument("--task", required=True)
    for option, kwargs in TRAIN_RUN_OPTIONS.items():
        p.add_argument(option, required=True, **kwargs)
    p.add_argument("--eval-episodes", type=int, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1, help="torch threads (Snakemake: the rule's threads)")
    add_override_arguments(p, "a hyperparameter of the algorithm's defaults file (below)", json_alias=True)
    p.add_argument(
        "--show-config",
        action="store_true",
        help="print the resolved settings (run options and every hyperparameter) as YAML and exit; "
        "needs only --algo and --task",
    )
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
    p.add_argument("--configfile", help="the workflow config (none: config.yaml); run from the workflow's folder")
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

    p = sub.add_parser(
        "landscape",
        help="the policy objective through the simulator and the world model: slices and gradient statistics",
    )
    p.add_argument("--task", required=True, help="a differentiable task (hopper, cartpole, ...)")
    p.add_argument("--world-model", required=True, help="a single-task world_model.pt (pretrain-single or a PWM run)")
    p.add_argument("--run", nargs="*", default=[], help="PWM run directories whose actors are measured too")
    p.add_argument("--out-dir", required=True, help="folder for the CSVs and landscape.{pdf,png}")
    p.add_argument("--horizons", default="8,16,32,64", help="comma-separated rollout horizons")
    p.add_argument("--start-states", type=int, default=16, help="start states (envs) of every objective")
    p.add_argument("--points", type=int, default=21, help="points of each 1-D slice over alpha in [-1, 1]")
    p.add_argument("--grid", type=int, default=11, help="points per axis of the 2-D slice")
    p.add_argument("--grid-horizon", type=int, help="horizon of the 2-D slice (none: the middle one)")
    p.add_argument("--gamma", type=float, default=0.99, help="discount of both objectives")
    p.add_argument("--seed", type=int, default=0, help="start states, directions and the initial actor")
    p.add_argument(
        "--model-terminations",
        choices=("simulator", "none"),
        default="simulator",
        help="mask the world model's rewards after the simulator's episode ended (simulator) or not (none)",
    )
    p.add_argument(
        "--run-models",
        choices=("own", "pretrained"),
        default="own",
        help="a run's actor through the world model it fine-tuned online (own) or the pre-trained one",
    )
    p.add_argument(
        "--ablation",
        action="append",
        default=[],
        metavar="NAME=WORLD_MODEL[,RUN_DIR...]",
        help="also an ablated world model (e.g. wm_latent_norm=none) with the PWM runs trained on it; repeatable",
    )
    p.set_defaults(func=cmd_landscape)

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
    from pwm.allocator import keep_freed_memory

    keep_freed_memory()  # large tensors reuse freed memory instead of page-faulting fresh mmaps

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if argv[:1] == ["train"] and "--show-config" in argv:
        _relax_run_options(parser)
    args, extra = parser.parse_known_args(argv)
    if extra:
        _take_overrides(parser, args, extra)
    try:
        args.func(args)
    except Exception as err:
        code = exit_code(err)
        if code is None:
            raise
        print(f"pwm-bench {args.command}: error: {err}", file=sys.stderr, flush=True)
        raise SystemExit(code) from None


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def _relax_run_options(parser: argparse.ArgumentParser) -> None:
    """``train --show-config`` runs nothing, so it needs no seed, run directory or budget."""
    for action in _subparser(parser, "train")._actions:
        if set(action.option_strings) & set(TRAIN_RUN_OPTIONS):
            action.required = False


def _take_overrides(parser: argparse.ArgumentParser, args, extra: list[str]) -> None:
    """KEY=VALUE items that argparse left over because options stood between them (``train a=1
    --algo x b=2``: b=2) join the others; anything else is argparse's usual usage error."""
    from pwm.cli_options import key_value

    sub = _subparser(parser, args.command)
    if not any(a.dest == OVERRIDES for a in sub._actions) or any(item.startswith("-") for item in extra):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    for item in extra:
        try:
            key_value(item)
        except argparse.ArgumentTypeError as err:
            sub.error(f"argument KEY=VALUE: {err}")
    setattr(args, OVERRIDES, list(getattr(args, OVERRIDES, None) or []) + extra)


if __name__ == "__main__":
    main()

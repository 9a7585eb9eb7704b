"""The analysis sub-commands of `pwm-bench` (import, aggregate, figures): parsers and handlers.

Kept beside the analysis code rather than in ``pwm/cli.py`` so the statistics options live with
the statistics; ``pwm/cli.py`` registers them with ``add_commands``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def parse_scales(items: list[str]) -> dict[str, float]:
    scales = {}
    for item in items:
        task, sep, value = item.partition("=")
        try:
            scales[task] = float(value)
        except ValueError:
            sep = ""
        if not sep or not task:
            raise ValueError(f"--scale expects TASK=NUMBER, got {item!r}")
    return scales


def cmd_import(args) -> None:
    from pwm.analysis.importers import write_import

    tasks = [t for t in args.tasks.split(",") if t] if args.tasks else None
    scores = write_import(
        args.format, args.algo, args.paths, args.out, tasks=tasks, task=args.task, fps=args.fps, metric=args.metric
    )
    print(
        f"imported {len(scores)} rows of {args.algo!r} ({scores.task.nunique()} tasks, "
        f"{scores.groupby('task').seed.nunique().max()} seeds max) from {len(args.paths)} paths -> {args.out}"
    )


def cmd_aggregate(args) -> None:
    from pwm.analysis.aggregate import aggregate, parse_taus

    scales = parse_scales(args.scale)
    normalization = args.normalize or ("scales" if scales else "tdmpc2")
    if scales and normalization != "scales":
        raise ValueError(f"--scale is only used with --normalize scales (got --normalize {normalization})")
    result = aggregate(
        args.scores,
        args.out_dir,
        group=args.group,
        reps=args.reps,
        seed=args.seed,
        confidence=args.confidence,
        score_rule=args.score,
        normalization=normalization,
        scales=scales,
        layout=args.layout,
        method=args.ci_method,
        taus=parse_taus(args.taus) if args.taus else None,
        thin=args.thin,
        curves=not args.no_curves,
        improvement=not args.no_improvement,
        seed_target=args.seed_target,
    )
    for note in result.notes:
        print(f"note: {note}")
    import pandas as pd

    from pwm.analysis.provenance import mixing_warnings

    for scores in args.scores:
        provenance = Path(scores).with_name("provenance.csv")
        if provenance.is_file():
            for warning in mixing_warnings(pd.read_csv(provenance)):
                print(f"WARNING: {warning}")
    print(result.aggregates.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if not result.improvement.empty:
        print(result.improvement.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def read_all(paths) -> pd.DataFrame | None:  # noqa: F821
    import pandas as pd

    return pd.concat([pd.read_csv(p) for p in paths], ignore_index=True) if paths else None


def cmd_figures(args) -> None:
    from pwm.analysis import figures, tables
    from pwm.analysis.scores import read_scores

    out = Path(args.out_dir)
    aggregates, profiles = read_all(args.aggregates), read_all(args.profiles)
    curves, improvement, run_scores = read_all(args.curves), read_all(args.improvement), read_all(args.run_scores)
    written = []
    if args.kind == "experiment":
        written += figures.plot_aggregates(aggregates, profiles, out / "aggregates")
        if curves is not None and not curves.empty:
            written += figures.plot_iqm_curves(curves, out / "curves")
        elif args.scores:
            written += figures.plot_curves(read_scores(args.scores), out / "curves")
        else:
            raise ValueError("--kind experiment needs --curves or --scores for the curves figure")
    elif args.kind == "single-task":
        if curves is None:
            raise ValueError("--kind single-task needs --curves")
        written += figures.plot_single_task(
            curves, aggregates, profiles, out / "single_task", xlabel=args.profile_xlabel
        )
    else:
        if run_scores is None:
            raise ValueError("--kind multitask needs --run-scores (per-task bars)")
        written += figures.plot_multitask(aggregates, profiles, out / "multitask")
        written += figures.plot_task_scores(run_scores, out / "multitask_tasks")
    if improvement is not None:
        written += figures.plot_improvement(improvement, out / "improvement", focus=args.focus)
    if args.tables:
        tables.write_tables(args.tables, aggregates, run_scores, read_all(args.cost))
        written.append(Path(args.tables))
    print("wrote " + ", ".join(map(str, written)))


def cmd_compare_published(args) -> None:
    from pwm.analysis.published_comparison import write_comparison

    comparison = write_comparison(args.scores, args.out, args.figure, args.margin, args.reps, args.seed)
    final = comparison[comparison.final]
    if final.empty:
        print("no algorithm of these scores has '<algo> (published)' curves on its tasks")
    for r in final.itertuples():
        print(
            f"{r.algo} on {r.task} at {r.env_steps} env steps: IQM {r.iqm:.3f} vs published {r.published_iqm:.3f}, "
            f"difference {r.difference:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}] -> {r.verdict} (margin {r.margin})"
        )
    print(f"wrote {args.out} and {args.figure}.pdf/.png")


def add_commands(sub) -> None:
    """Register ``import``, ``aggregate``, ``compare-published`` and ``figures`` on the `pwm-bench`
    sub-parser set."""
    from pwm.analysis.choices import CI_METHODS, FORMATS, LAYOUTS, SCORE_RULES, check_rule

    def check_score_rule(text: str) -> str:
        try:
            return check_rule(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    p = sub.add_parser("import", help="published results -> a tidy scores.csv")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (every *.csv inside)")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--algo", required=True, help="algorithm name to give the imported runs")
    p.add_argument("--out", required=True, help="the scores.csv to write")
    p.add_argument("--tasks", help="comma list: keep only these tasks (tdmpc2-results reads only their files)")
    p.add_argument(
        "--task", help="pwm-single-task: task name (if not given: the file name minus '<algo>_' and '_time')"
    )
    p.add_argument("--fps", type=float, help="pwm-single-task time-indexed files: environment steps per second")
    p.add_argument(
        "--metric",
        help="pwm-single-task: the '<run> - METRIC' columns to read "
        "(if not given: rewards, rewards/time or train/episode_reward)",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("aggregate", help="scores.csv -> aggregates, profiles, curves, improvement (rliable)")
    p.add_argument("scores", nargs="+")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--group", default="all", help="label of this aggregate (e.g. the experiment)")
    p.add_argument(
        "--score",
        default="final",
        type=check_score_rule,
        metavar="|".join(SCORE_RULES),
        help="each run's score: last evaluation, its own max, the value where the across-seed "
        "mean / IQM curve peaks (iqm-peak: the PWM single-task rule), or the last "
        "evaluation at or before N env steps (at:N: equal steps across algorithms)",
    )
    p.add_argument(
        "--normalize",
        metavar="RULE",
        help="tdmpc2 (dm_control return/1000, Meta-World success; used if not given), algo:NAME "
        "(return / NAME's peak IQM per task), scales (with --scale), raw",
    )
    p.add_argument(
        "--scale",
        action="append",
        default=[],
        metavar="TASK=VALUE",
        help="explicit per-task scale (repeatable); implies --normalize scales",
    )
    p.add_argument(
        "--layout",
        default="canonical",
        choices=LAYOUTS,
        help="bootstrap layout: rliable's runs x tasks, or the PWM notebooks' tasks-as-runs",
    )
    p.add_argument("--ci-method", default="percentile", choices=CI_METHODS)
    p.add_argument("--reps", type=int, default=2000, help="bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (np.random.seed before each call)")
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument(
        "--taus",
        help="profile thresholds START:STOP:NUM or a comma list (if not given: 81 points from 0 to max(1, best score))",
    )
    p.add_argument(
        "--thin", type=int, default=1, help="keep every THIN-th point of the aligned curves (the PWM notebooks use 10)"
    )
    p.add_argument("--no-curves", action="store_true", help="skip the per-time-point IQM curves")
    p.add_argument("--no-improvement", action="store_true", help="skip probability of improvement")
    p.add_argument(
        "--seed-target",
        type=float,
        default=0.05,
        help="CI half-width (normalised score) seed_advice.csv plans for: the seeds each aggregate would need",
    )
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser(
        "compare-published",
        help="our runs' IQM against '<algo> (published)' curves: difference, bootstrap CI, verdict",
    )
    p.add_argument("scores", nargs="+", help="scores.csv and imported published/<i>.csv files")
    p.add_argument("--out", required=True, help="published_comparison.csv to write")
    p.add_argument("--figure", required=True, help="figure path without extension (PDF and PNG)")
    p.add_argument(
        "--margin", type=float, default=0.1, help="normalised-score margin of the verdict (below/within/above)"
    )
    p.add_argument("--reps", type=int, default=2000, help="bootstrap replicates")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.set_defaults(func=cmd_compare_published)

    p = sub.add_parser("figures", help="paper figures (PDF and PNG) from aggregate outputs")
    p.add_argument(
        "--kind",
        default="experiment",
        choices=("experiment", "single-task", "multitask"),
        help="experiment: aggregates + curves; single-task: the PWM single-task figure; "
        "multitask: MT30/MT80 interval bars, profiles and per-task bars",
    )
    p.add_argument("--scores", nargs="*", help="scores.csv (curves fallback when --curves is not given)")
    p.add_argument("--aggregates", nargs="+", required=True, help="aggregates.csv (several groups allowed)")
    p.add_argument("--profiles", nargs="+", required=True)
    p.add_argument("--curves", nargs="*", help="curves.csv")
    p.add_argument("--improvement", nargs="*", help="improvement.csv: adds the probability-of-improvement panel")
    p.add_argument("--run-scores", nargs="*", help="run_scores.csv (per-task bars, tables)")
    p.add_argument("--focus", help="improvement panel: show P(FOCUS > other) only")
    p.add_argument("--profile-xlabel", default="Normalized score", help="single-task: the score axis label")
    p.add_argument("--cost", nargs="*", help="cost.csv (a cost table in --tables)")
    p.add_argument("--tables", help="also write a Markdown table of the aggregates and per-task scores here")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_figures)

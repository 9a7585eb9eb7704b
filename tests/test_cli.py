"""The command line's conventions: --version, one help formatter, distinct exit codes."""

from __future__ import annotations

import argparse

import pytest

import pwm
from pwm.cli import EXIT_BAD_INPUT, EXIT_USAGE, build_parser, main

SUBCOMMANDS = [
    "train",
    "tasks",
    "collect",
    "check-config",
    "estimate",
    "landscape",
    "compare-published",
    "import",
    "aggregate",
    "figures",
    "build-dataset",
    "pretrain",
    "pretrain-single",
    "eval-planning",
]


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


def test_version_prints_the_package_version(capsys):
    assert exit_code(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pwm-bench {pwm.__version__}"
    assert pwm.__version__ == "0.1.0"


def test_the_subcommands_are_the_documented_ones():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(SUBCOMMANDS)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_prints_every_default_once(command, capsys):
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    assert sub.formatter_class is argparse.ArgumentDefaultsHelpFormatter
    # the formatter appends "(default: X)" itself: a help text that says its default prints it twice
    for action in sub._actions:
        assert "(default" not in (action.help or "") or action.help == "(default: %(default)s)", (
            f"{command} {action.option_strings}: {action.help}"
        )
    assert exit_code([command, "--help"]) == 0
    assert "usage: pwm-bench " + command in capsys.readouterr().out
    formatter = sub._get_formatter()
    for action in sub._actions:
        if not action.option_strings or action.default in (None, False, []) or action.dest == "help":
            continue
        shown = formatter._expand_help(action)  # what --help prints for this option
        assert shown.count("(default: ") == 1 and f"(default: {action.default})" in shown, (
            command,
            action.option_strings,
            shown,
        )


def test_usage_errors_exit_2_and_bad_input_exits_3(tmp_path, capsys):
    assert exit_code(["train", "--algo", "sac"]) == EXIT_USAGE == 2  # missing required options
    assert exit_code(["no-such-command"]) == EXIT_USAGE
    common = [
        "train",
        "--algo",
        "random_policy",
        "--task",
        "cartpole-balance",
        "--seed",
        "1",
        "--steps",
        "1",
        "--eval-every",
        "1",
        "--out",
        str(tmp_path / "r"),
    ]
    assert exit_code(common + ["--set", "no_equals_sign"]) == EXIT_USAGE
    assert "argument --set: expected KEY=VALUE, got 'no_equals_sign'" in capsys.readouterr().err
    assert exit_code(common + ["--hparams", "{not json"]) == EXIT_USAGE
    assert "argument --hparams: not JSON" in capsys.readouterr().err
    assert exit_code(common + ["--hparams", "[64]"]) == EXIT_USAGE
    assert "argument --hparams: expected a JSON object, got '[64]'" in capsys.readouterr().err
    # the world-model sub-commands share the option types: the same malformed values, the same exit code
    single = ["pretrain-single", "--task", "hopper", "--data", "x.pt", "--out", str(tmp_path / "w"), "--steps", "1"]
    assert exit_code(single + ["--hparams", "[64]"]) == EXIT_USAGE
    assert exit_code(single + ["--set", "wm_lr"]) == EXIT_USAGE
    assert (
        exit_code(["eval-planning", "--checkpoint", "m.pt", "--tasks", "t", "--out", "e.csv", "--set", "x"])
        == EXIT_USAGE
    )
    capsys.readouterr()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "experiments: {tiny: {kind: single-task, tasks: [cartpole-balance], seeds: [1], "
        "algorithms: {sac: {steps: 10, eval_every: 5}}}}\nagregate: {}\n"
    )
    assert exit_code(["check-config", str(bad)]) == EXIT_BAD_INPUT == 3
    assert "unknown key 'agregate'" in capsys.readouterr().err


def test_one_name_per_concept_with_the_old_spellings_kept():
    parser = build_parser()
    args = parser.parse_args(["tasks", "--task-set", "mt30"])
    assert args.suite == "mt30" and parser.parse_args(["tasks", "--suite", "mt30"]).suite == "mt30"
    args = parser.parse_args(
        ["eval-planning", "--checkpoint", "m.pt", "--tasks", "a", "--out", "e.csv", "--eval-episodes", "3"]
    )
    assert args.episodes == 3 and args.algo == "tdmpc2_planning"

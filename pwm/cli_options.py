"""Hyperparameter arguments shared by the `pwm-bench` sub-commands that take them (train, pretrain,
pretrain-single, eval-planning).

The one syntax is ``key=value``, as positional arguments (``pwm-bench train --algo shac --task hopper
num_envs=64 horizon=16``), in Hydra's override grammar (pwm.hparams.parse_override: ``lr=1e-3``,
``betas=[0.7,0.95]``, ``seed_steps=null``, ``name='a b'``, ``policy_kwargs.net_arch=[64,64]``).
``--set KEY=VALUE`` is the same thing as an option, and ``--hparams JSON`` (a JSON object) a
compatibility alias of older command lines: its keys apply first, then the key=value items; a key
given twice takes its last value.

Each item is checked by an argparse type, so a malformed one is a usage error (exit code 2, naming
the item) on every sub-command alike, raised while parsing, before any simulator or torch import.
Whether a key exists is the defaults file's business (pwm.hparams.resolve, exit code 3).
"""

from __future__ import annotations

import argparse
import json

OVERRIDES = "overrides"  # the namespace attribute of the key=value items, in order


def json_object(text: str) -> dict:
    """--hparams '{"num_envs": 64}' -> {"num_envs": 64}; anything but a JSON object is refused."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not JSON ({err}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def key_value(text: str) -> str:
    """One key=value item, checked against Hydra's grammar now; its value is parsed again (cached) by
    :func:`hyperparameters`."""
    from pwm.hparams import parse_override

    try:
        parse_override(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


class _Extend(argparse.Action):
    """Adds the item(s) to the one ordered list of overrides (positional items and --set share it)."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest, None) or [])
        items += values if isinstance(values, list) else [values]
        setattr(namespace, self.dest, items)


def add_override_arguments(parser: argparse.ArgumentParser, what: str, json_alias: bool = False) -> None:
    """The positional KEY=VALUE overrides of ``what`` (e.g. "a key of pwm/configs/tdmpc2.yaml"), their
    --set alias and, where older command lines used it, --hparams JSON."""
    parser.add_argument(
        OVERRIDES,
        nargs="*",
        action=_Extend,
        default=[],
        type=key_value,
        metavar="KEY=VALUE",
        help=f"override {what}, in Hydra's override grammar: lr=1e-3 betas=[0.7,0.95] seed_steps=null "
        "name='a b' a.b=1 (later wins)",
    )
    parser.add_argument(
        "--set",
        dest=OVERRIDES,
        action=_Extend,
        default=[],
        type=key_value,
        metavar="KEY=VALUE",
        help="the same as a positional KEY=VALUE (repeatable)",
    )
    if json_alias:
        parser.add_argument(
            "--hparams",
            type=json_object,
            metavar="JSON",
            help="the same as a JSON object (older command lines); its keys apply before any KEY=VALUE",
        )


def overrides(args: argparse.Namespace) -> dict:
    """The key=value items of a sub-command as a (nested) dict; a dotted key sets a mapping's entry."""
    from pwm.hparams import overrides_dict

    return overrides_dict(getattr(args, OVERRIDES, None) or [])


def hyperparameters(args: argparse.Namespace) -> dict:
    """A sub-command's hyperparameters: its --hparams object, with the key=value items on top."""
    from pwm.hparams import merge

    return merge(getattr(args, "hparams", None), overrides(args))

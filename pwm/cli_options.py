"""Option types shared by the `pwm-bench` sub-commands: --hparams (a JSON object) and --set
(KEY=VALUE, repeatable).

They are argparse types, so a malformed value is a usage error (exit code 2, argparse's own
message naming the option) on every sub-command alike, raised while parsing, before any
simulator or torch import and before any work starts.
"""

from __future__ import annotations

import argparse
import json


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
    """One --set item; its value is parsed with the others by `overrides`."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


def add_hparams_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--hparams", type=json_object, metavar="JSON", help=help)


def add_set_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--set", action="append", type=key_value, default=[], metavar="KEY=VALUE", help=help)


def hyperparameters(args: argparse.Namespace) -> dict:
    """A sub-command's hyperparameters: its --hparams object, with each --set key on top."""
    return {**(args.hparams or {}), **overrides(args.set)}


def overrides(items: list[str]) -> dict:
    """--set items -> a nested dict (dotted keys nest; values typed as YAML: 64 -> int, [1,2] -> list)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.from_dotlist(items), resolve=True)

"""One hyperparameter mechanism for every algorithm: one YAML file of documented defaults per
algorithm, read strictly, and one override syntax, ``key=value``.

Where the defaults live (:func:`defaults_path`) is found without importing the algorithm, so checking
a workflow config when Snakemake builds its DAG, or ``pwm-bench train --show-config``, costs no torch,
SB3 or simulator import (this module needs only the standard library, PyYAML and, to parse
command-line overrides, hydra-core):

- ``pwm/configs/<name>.yaml``: ``pwm`` and ``tdmpc2`` (pre-training reads TD-MPC2's settings too, so
  they live in ``pwm``);
- ``baselines/configs/<name>.yaml``: every other algorithm (``shac``, ``sac``, ``ppo``); the
  ``baselines`` package is located with ``importlib.util.find_spec``, which does not run it;
- no file (``random_policy``): the algorithm takes no hyperparameters, and any key is an error.

A defaults file maps each hyperparameter to its default, with a comment saying what it is and where
the value comes from. Two top-level keys are sections, not hyperparameters (:data:`SECTIONS`):

- ``per_task: {<task>: {<key>: <value>, ...}}``: a task's departures from the defaults above it;
- ``presets: {<name>: {<key>: <value>, ..., per_task: {...}}}``, with a hyperparameter ``preset``
  whose default names one: named sets of defaults over the common ones (SHAC: ``diffrl``, ``pwm``).
  A preset may add keys of its own (SHAC's ``target_alpha`` exists only in ``diffrl``).

:func:`resolve` merges, later winning: the common defaults, the chosen preset's, ``per_task[task]``,
the preset's ``per_task[task]``, then the overrides (config.yaml's ``hparams``, then ``key=value``
arguments). Mappings merge key by key; any other value is replaced. It is strict: an override whose
key is not a resolved default is a ValueError naming the key, the algorithm, a close match and the
allowed keys; a value of another type than its default's (or than :data:`TYPES` says, where the
default's own type does not tell) names key, value and the expected type. The files are held to
the same rule: a ``per_task`` key must be a hyperparameter of the level above it.

Overrides are written in Hydra's override grammar, parsed by hydra-core's own parser
(:func:`parse_override`), as TD-MPC2's and the PWM reference's command lines are: ``num_envs=64``,
``lr=1e-3``, ``betas=[0.7,0.95]``, ``seed_steps=null``, ``episodic=true``, ``name='a b=c'``,
``policy_kwargs.net_arch=[64,64]`` (a dotted key sets one entry of a mapping). Sweeps (``a=1,2``)
and Hydra's ``+key``/``++key``/``~key`` are refused: every key is a documented default.
:func:`format_override` writes a value back in that grammar (the Snakemake rules do, from config.yaml).
"""

from __future__ import annotations

import copy
import difflib
import importlib.util
import re
import types
import typing
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pwm.envs.suites import DFLEX_TWINS, mujoco_twin
from pwm.strict_yaml import load_yaml_strict

SECTIONS = ("per_task", "presets")
PWM_CONFIGS = Path(__file__).resolve().parent / "configs"
BASELINES = "baselines"
NONE = type(None)

# Types a default's own type does not tell, replacing the default's: a default of "auto" that also
# takes a number or true/false, a null that means "unset" or "derived at run time" but takes only
# some types, and SB3's object-valued arguments (an ActionNoise, a buffer class), of which a config
# can only give null. tests/test_hparams.py checks the SB3 entries against SB3's annotations.
TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "tdmpc2": {"episodic": (str, bool)},
    "sac": {
        "buffer_size": (int, NONE),
        "train_freq": (int, list, tuple),
        "action_noise": (NONE,),
        "replay_buffer_class": (NONE,),
        "replay_buffer_kwargs": (dict, NONE),
        "ent_coef": (str, float),
        "target_entropy": (str, float),
        "policy_kwargs": (dict, NONE),
    },
    "ppo": {
        "clip_range_vf": (float, NONE),
        "rollout_buffer_class": (NONE,),
        "rollout_buffer_kwargs": (dict, NONE),
        "target_kl": (float, NONE),
        "policy_kwargs": (dict, NONE),
    },
}
# How messages name an algorithm (SHAC's have always said "SHAC"); others by their name.
DISPLAY_NAMES = {"shac": "SHAC"}


def display_name(algo: str) -> str:
    return DISPLAY_NAMES.get(algo, algo)


# ------------------------------------------------------------------------ where the defaults live
def _baseline_dirs() -> list[Path]:
    spec = importlib.util.find_spec(BASELINES)  # locates the package without running its __init__
    return [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []


def defaults_path(algo: str) -> Path | None:
    """The YAML file of ``algo``'s defaults, or None when it takes no hyperparameters (or the name
    is not a module name, so no path is built from it)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(algo)):
        return None
    if (PWM_CONFIGS / f"{algo}.yaml").is_file():
        return PWM_CONFIGS / f"{algo}.yaml"
    return next(
        (d / "configs" / f"{algo}.yaml" for d in _baseline_dirs() if (d / "configs" / f"{algo}.yaml").is_file()),
        None,
    )


def shown_path(path: Path) -> str:
    """``path`` as the package-relative name the docs use (``baselines/configs/sac.yaml``)."""
    return "/".join(path.parts[-3:])


def _check_algorithm(algo: str) -> None:
    from pwm import algorithms  # reads names from the sources (ast); imports no algorithm

    names = algorithms.available()
    if algo not in names:
        close = difflib.get_close_matches(str(algo), names, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown algorithm {algo!r}{hint}; available: {', '.join(names)}")


# ------------------------------------------------------------------------ reading a defaults file
@cache
def _read(path: Path) -> dict:
    """A defaults file checked for its structure: {"common", "per_task", "presets"} (see the module doc)."""
    data = load_yaml_strict(path, yaml12_floats=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of hyperparameters, found {type(data).__name__}")
    common = {k: v for k, v in data.items() if k not in SECTIONS}
    presets = data.get("presets") or {}
    if presets and not (isinstance(presets, dict) and all(isinstance(p, dict) for p in presets.values())):
        raise ValueError(f"{path}: presets must map each preset's name to its defaults")
    if presets and common.get("preset") not in presets:
        raise ValueError(
            f"{path}: a file with presets needs a hyperparameter preset naming the default one "
            f"({', '.join(presets)}), got {common.get('preset')!r}"
        )
    spec = {
        "common": common,
        "per_task": _per_task(path, "per_task", data.get("per_task"), common),
        "presets": {},
    }
    for name, block in presets.items():
        own = {k: v for k, v in block.items() if k != "per_task"}
        where = f"presets.{name}.per_task"
        spec["presets"][name] = {
            "defaults": own,
            "per_task": _per_task(path, where, block.get("per_task"), {**common, **own}),
        }
    return spec


def _per_task(path: Path, where: str, blocks, above: dict) -> dict:
    if blocks is None:
        return {}
    if not isinstance(blocks, dict) or not all(isinstance(b, dict) for b in blocks.values()):
        raise ValueError(f"{path}: {where} must map each task to a mapping of hyperparameters")
    for task, block in blocks.items():
        unknown = sorted(set(block) - set(above))
        if unknown:
            raise ValueError(
                f"{path}: {where}.{task}: {unknown} are not hyperparameters defined above it "
                "(a per-task block only changes defaults)"
            )
    return blocks


def _spec(algo: str) -> dict | None:
    path = defaults_path(algo)
    return None if path is None else _read(path)


def presets(algo: str) -> list[str]:
    """The preset names of ``algo`` ([] when it has none)."""
    spec = _spec(algo)
    return list(spec["presets"]) if spec else []


def tasks_with_defaults(algo: str) -> list[str]:
    """Every task some ``per_task`` block of ``algo``'s file names, in file order."""
    spec = _spec(algo)
    if spec is None:
        return []
    names = list(spec["per_task"])
    for preset in spec["presets"].values():
        names += [t for t in preset["per_task"] if t not in names]
    return names + [t for t, twin in DFLEX_TWINS.items() if twin in names and t not in names]


def task_dependent(algo: str) -> bool:
    """Whether ``algo``'s defaults (so what a config may set) depend on the task."""
    return bool(tasks_with_defaults(algo))


def defaults(algo: str, task: str | None = None, preset: str | None = None) -> dict:
    """``algo``'s resolved defaults for ``task`` (None: no per-task block) and ``preset``
    (None: the file's default preset), before any override. A new dict each call."""
    spec = _spec(algo)
    if spec is None:
        return {}
    merged = copy.deepcopy(spec["common"])
    chosen = None
    if spec["presets"]:
        chosen = merged["preset"] if preset is None else preset
        if not isinstance(chosen, str) or chosen not in spec["presets"]:
            raise ValueError(
                f"unknown {display_name(algo)} preset {chosen!r}; allowed: "
                f"{', '.join(repr(p) for p in spec['presets'])}"
            )
        merged = _merge(merged, spec["presets"][chosen]["defaults"])
        merged["preset"] = chosen
    if task is not None:
        # a dflex task without its own block takes its MuJoCo twin's (the MuJoCo tasks port dflex's)
        merged = _merge(merged, spec["per_task"].get(task, spec["per_task"].get(mujoco_twin(task), {})))
        if chosen is not None:
            blocks = spec["presets"][chosen]["per_task"]
            merged = _merge(merged, blocks.get(task, blocks.get(mujoco_twin(task), {})))
    return merged


def _merge(base: dict, changes: Mapping) -> dict:
    """``base`` with ``changes`` on top (a copy): mappings merge key by key, other values are replaced."""
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge(*layers: Mapping | None) -> dict:
    """Overrides given in layers (--hparams JSON, then --set / key=value), later winning, deeply."""
    out: dict = {}
    for layer in layers:
        out = _merge(out, layer or {})
    return out


# ------------------------------------------------------------------------ resolving, strictly
def resolve(algo: str, task: str | None = None, overrides: Mapping | None = None, where: str = "") -> dict:
    """``algo``'s settings for ``task``: its defaults (see the module doc) with ``overrides`` on top,
    checked strictly; ValueError (prefixed with ``where``) names a bad key or value."""
    overrides = dict(overrides or {})
    prefix = f"{where}: " if where else ""
    path = defaults_path(algo)
    if path is None:
        _check_algorithm(algo)
        if overrides:
            raise ValueError(f"{prefix}{algo} takes no hyperparameters, got {sorted(overrides)}")
        return {}
    try:
        base = defaults(algo, task, overrides.get("preset"))
    except ValueError as err:
        raise ValueError(f"{prefix}{err}") from None
    preset = f", preset {base['preset']}" if presets(algo) else ""
    check_hparam_values(
        overrides,
        types_for(algo, base),
        display_name(algo),
        where,
        allowed_in=f"{shown_path(path)}{preset}",
        elsewhere=_keys_of_other_presets(algo, base.get("preset")),
    )
    return _merge(base, overrides)


def check(algo: str, task: str | None = None, overrides: Mapping | None = None, where: str = "") -> None:
    """:func:`resolve` for its errors only (the workflow's DAG-time check)."""
    resolve(algo, task, overrides, where)


def _keys_of_other_presets(algo: str, chosen: str | None) -> dict[str, str]:
    spec = _spec(algo)
    out: dict[str, str] = {}
    for name, preset in (spec["presets"] if spec else {}).items():
        if name != chosen:
            for key in preset["defaults"]:
                out.setdefault(key, name)
    return out


def types_for(algo: str, resolved_defaults: Mapping) -> dict[str, tuple[type, ...] | None]:
    """``{key: accepted types}``: :data:`TYPES` of ``algo`` where given, else each default's type."""
    expected = {k: types_of_default(v) for k, v in resolved_defaults.items()}
    for key, given in TYPES.get(algo, {}).items():
        if key in expected:
            expected[key] = given
    return expected


# ------------------------------------------------------------------------ type checks
_BASIC = (bool, int, float, str, list, tuple, dict, NONE)
_TYPE_NAMES = {
    bool: "true/false",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    tuple: "a list",
    dict: "a mapping",
    NONE: "null",
}


def types_of_default(value: Any) -> tuple[type, ...] | None:
    """What a hyperparameter whose default is ``value`` accepts; None (a null default): anything."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return (list, tuple)
    if isinstance(value, Mapping):
        return (dict,)
    return (type(value),)


def types_of_annotation(annotation: Any) -> tuple[type, ...] | None:
    """The YAML-expressible types of a signature annotation (``int | tuple[int, str]`` -> int, tuple);
    None when there is no annotation. Non-YAML types (callables, classes) contribute nothing."""
    import inspect

    if annotation is inspect.Parameter.empty:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(annotation) for t in (types_of_annotation(arg) or ()))
    base = origin or annotation
    if base is typing.Any:
        return None
    return (base,) if base in _BASIC else ()


def accepts(types_: tuple[type, ...] | None, value: Any) -> bool:
    if types_ is None:
        return True
    kind = type(value)
    if kind is bool:
        return bool in types_
    if kind is int and (int in types_ or float in types_):
        return True
    if kind in (list, tuple) and (list in types_ or tuple in types_):
        return True
    return any(kind is t or (t is dict and isinstance(value, Mapping)) for t in types_ if t is not bool)


def describe_types(types_: tuple[type, ...]) -> str:
    names = list(dict.fromkeys(_TYPE_NAMES.get(t, t.__name__) for t in types_))
    return " or ".join(names) if names else "nothing a config can express"


def check_hparam_values(
    hparams: Mapping,
    expected: Mapping[str, tuple[type, ...] | None],
    name: str,
    where: str = "",
    allowed_in: str = "",
    elsewhere: Mapping[str, str] | None = None,
) -> None:
    """Every key of ``hparams`` is one of ``expected`` (close matches suggested) and has one of its types.

    Raises ValueError: "<where>: unknown <name> hyperparameters ['x'] ('x': did you mean ...?); allowed
    (<allowed_in>): ..." or "<where>: <name> hyperparameter batch_size='big' is a string, expected an
    integer". ``elsewhere``: keys that belong to another preset, named so in the message."""
    prefix = f"{where}: " if where else ""
    unknown = [k for k in hparams if k not in expected]
    if unknown:
        first = str(unknown[0])
        if elsewhere and first in elsewhere:
            hint = f" ({first!r} is a hyperparameter of preset {elsewhere[first]})"
        else:
            close = difflib.get_close_matches(first, [str(k) for k in expected], n=3)
            hint = f" ({unknown[0]!r}: did you mean {', '.join(close)}?)" if close else ""
        shown = f" ({allowed_in})" if allowed_in else ""
        raise ValueError(
            f"{prefix}unknown {name} hyperparameters {unknown}{hint}; allowed{shown}: "
            f"{', '.join(sorted(map(str, expected)))}"
        )
    for key, value in hparams.items():
        if not accepts(expected[key], value):
            got = "a float" if type(value) is float else _TYPE_NAMES.get(type(value), type(value).__name__)
            hint = ""
            if isinstance(value, str) and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", value.strip()):
                hint = f" (YAML reads {value} as text: write it with a decimal point, e.g. {float(value)!r})"
            elif type(value) is float and value.is_integer() and int in expected[key]:
                hint = f" (write {int(value)}, without the decimal point)"
            raise ValueError(
                f"{prefix}{name} hyperparameter {key}={value!r} is {got}, expected "
                f"{describe_types(expected[key])}{hint}"
            )


# ------------------------------------------------------------------------ key=value overrides
@cache
def _parser():
    # hydra-core's parser of its command-line overrides (imported here: ~0.1 s, only when overrides
    # are given, so `pwm-bench --help` and Snakemake's DAG stay free of it).
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


@cache
def parse_override(text: str) -> tuple[str, Any]:
    """``"num_envs=64"`` -> ``("num_envs", 64)``, by Hydra's override grammar. ValueError (one line,
    naming ``text``) for anything that is not a plain ``key=value``."""
    if "=" not in text:
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    from hydra.errors import HydraException

    try:
        (override,) = _parser().parse_overrides([text])
    except HydraException as err:
        reason = " ".join(str(err).split())
        raise ValueError(f"{text!r} is not a KEY=VALUE override: {reason}") from None
    if override.is_delete() or override.is_add() or override.is_force_add():
        raise ValueError(
            f"{text!r}: Hydra's +key / ++key / ~key change a config's key set, but every hyperparameter "
            "is a documented default; write key=value"
        )
    if override.package is not None:
        raise ValueError(f"{text!r}: Hydra's key@package is not a hyperparameter; write key=value")
    if override.is_sweep_override():
        raise ValueError(
            f"{text!r} is a Hydra sweep (a,b or range/choice), which runs nothing here: give one value "
            "(quote a string with a comma: key='a,b')"
        )
    return override.key_or_group, override.value()


def overrides_dict(items: Iterable[str]) -> dict:
    """``key=value`` items -> a (nested) dict; a dotted key sets one entry of a mapping; later wins."""
    out: dict = {}
    for item in items:
        key, value = parse_override(item)
        node = out
        *parents, last = key.split(".")
        for i, part in enumerate(parents):
            if not isinstance(node.get(part, {}), dict):
                raise ValueError(f"{item!r}: {'.'.join(parents[: i + 1])} was given a value that is not a mapping")
            node = node.setdefault(part, {})
        node[last] = copy.deepcopy(value)
    return out


_BARE = re.compile(r"[A-Za-z_/][A-Za-z0-9_/.\-+]*")
_KEYWORDS = {"null", "true", "false", "inf", "nan"}


def format_value(value: Any) -> str:
    """``value`` in Hydra's override grammar, so that :func:`parse_override` gives it back."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # 0.001, 1e-05, inf, nan: all Hydra floats
    if isinstance(value, str):
        if _BARE.fullmatch(value) and value.lower() not in _KEYWORDS:
            return value
        # Hydra's quoted strings: \' is a quote; backslashes are literal except a run of them
        # right before a quote (or the closing quote), which is halved.
        body = re.sub(r"(\\+)(?='|$)", lambda m: m.group(1) * 2, value).replace("'", "\\'")
        return f"'{body}'"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        for key in value:
            if not (isinstance(key, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key)):
                raise ValueError(f"cannot write the mapping key {key!r} as a key=value override")
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"cannot write {value!r} ({type(value).__name__}) as a key=value override")


def format_override(key: str, value: Any) -> str:
    return f"{key}={format_value(value)}"


def to_overrides(hparams: Mapping) -> list[str]:
    """A hyperparameter mapping as ``key=value`` items (the Snakemake rules' arguments)."""
    return [format_override(str(k), v) for k, v in hparams.items()]


# ------------------------------------------------------------------------ help
def defaults_files() -> dict[str, str]:
    """``{algorithm: its defaults file}`` for ``pwm-bench train --help``, from the files present."""
    files = {p.stem: shown_path(p) for p in sorted(PWM_CONFIGS.glob("*.yaml"))}
    for directory in _baseline_dirs():
        for path in sorted((directory / "configs").glob("*.yaml")):
            files.setdefault(path.stem, shown_path(path))
    return files

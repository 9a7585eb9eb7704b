"""Read TD-MPC2 ``config.yaml`` files (and this project's own YAML configs) without Hydra.

TD-MPC2's config is a flat Hydra file whose only ``defaults`` entry overrides the Hydra launcher,
so ``OmegaConf.load`` + dropping ``defaults`` + merging ``key=value`` overrides reads it exactly
(docs/reference-notes.md §7.8). :func:`load_tdmpc2_config` then derives what TD-MPC2's
``parse_cfg`` derives (model-size architecture, task set, task_dim, dims, bin size), and
:func:`world_model_config` turns the result into a :class:`~pwm.world_model.WorldModelConfig`.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pwm.envs.suites import TASK_DIMS, TASK_SETS
from pwm.world_model import MODEL_SIZES, WorldModelConfig, task_dim_for


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> DictConfig:
    """Load a YAML config, drop its Hydra ``defaults`` list and apply ``key=value`` overrides.

    Overrides use OmegaConf's dotlist syntax (``model_size=48``, ``a.b=3``); unknown keys are
    rejected, so a typo fails instead of being silently ignored; ``+key=value`` adds a new key
    (as in Hydra).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    cfg = OmegaConf.load(path)
    if not isinstance(cfg, DictConfig):
        raise ValueError(f"{path}: expected a mapping at the top level, found {type(cfg).__name__}")
    cfg.pop("defaults", None)
    overrides = list(overrides)
    changes = [o for o in overrides if not o.startswith("+")]
    additions = [o[1:] for o in overrides if o.startswith("+")]
    if changes:
        OmegaConf.set_struct(cfg, True)
        try:
            cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(changes))
        except Exception as err:  # omegaconf raises ConfigKeyError for unknown keys
            raise KeyError(f"{path}: cannot apply overrides {changes} (use +key=value to add a key): {err}") from None
        OmegaConf.set_struct(cfg, False)
    if additions:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(additions))
    return cfg


_ARITHMETIC = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([+\-*/])\s*(-?\d+(?:\.\d+)?)\s*$")


# ------------------------------------------------------------------------ hyperparameter checks
# Types a default's own type does not tell (a default of "auto" that also takes true/false).
EXTRA_TYPES: dict[str, dict[str, tuple[type, ...]]] = {"tdmpc2": {"episodic": (bool,)}}
_BASIC = (bool, int, float, str, list, tuple, dict, type(None))
_TYPE_NAMES = {
    bool: "true/false",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    tuple: "a list",
    dict: "a mapping",
    type(None): "null",
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
    hparams: Mapping, expected: Mapping[str, tuple[type, ...] | None], name: str, where: str = ""
) -> None:
    """Every key of ``hparams`` is one of ``expected`` (close matches suggested) and has one of its types.

    Raises ValueError: "<where>: unknown <name> hyperparameters ['x'] ('x': did you mean ...?); known: ..." or
    "<where>: <name> hyperparameter batch_size='big' is a string, expected an integer"."""
    prefix = f"{where}: " if where else ""
    unknown = [k for k in hparams if k not in expected]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), list(expected), n=3)
        hint = f" ({unknown[0]!r}: did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(
            f"{prefix}unknown {name} hyperparameters {unknown}{hint}; known: {', '.join(sorted(expected))}"
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


def default_types(defaults: Mapping, name: str = "") -> dict[str, tuple[type, ...] | None]:
    """``{key: accepted types}`` from an algorithm's defaults (plus :data:`EXTRA_TYPES` of ``name``)."""
    expected = {k: types_of_default(v) for k, v in defaults.items()}
    for key, extra in EXTRA_TYPES.get(name, {}).items():
        if key in expected and expected[key] is not None:
            expected[key] = expected[key] + extra
    return expected


def load_defaults(path: str | Path, hparams: dict | None, name: str) -> DictConfig:
    """An algorithm's defaults file with ``hparams`` (from config.yaml or --set) merged in.

    Unknown keys are rejected, naming them, close matches and the known ones, and so is a value of
    another type than its default's (``batch_size: big``), so a typo fails before training.
    """
    cfg = load_config(path)
    if hparams:
        defaults = OmegaConf.to_container(cfg, resolve=False)
        check_hparam_values(hparams, default_types(defaults, name), name)
        cfg = OmegaConf.merge(cfg, OmegaConf.create(dict(hparams)))
    return cfg


def _eval_arithmetic(value):
    """TD-MPC2 lets values like ``"5*10"`` stand for numbers; evaluate them without ``eval``."""
    if not isinstance(value, str) or not (m := _ARITHMETIC.match(value)):
        return value
    a, op, b = float(m.group(1)), m.group(2), float(m.group(3))
    out = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else float("nan")}[op]
    return int(out) if float(out).is_integer() else out


def load_tdmpc2_config(path: str | Path, overrides: Iterable[str] = ()) -> DictConfig:
    """Read a TD-MPC2 ``config.yaml`` with overrides and derive what TD-MPC2's parser derives:
    architecture of ``model_size``, ``multitask``, ``tasks``, ``task_dim``, ``bin_size`` and, for
    tasks in TD-MPC2's sets, ``obs_dim``/``action_dim``/``action_dims``."""
    cfg = load_config(path, overrides)
    for key in list(cfg.keys()):
        if not OmegaConf.is_missing(cfg, key):
            cfg[key] = _eval_arithmetic(cfg[key])
    size = cfg.get("model_size") if not OmegaConf.is_missing(cfg, "model_size") else None
    if size is not None:
        if size not in MODEL_SIZES:
            raise ValueError(f"{path}: invalid model_size {size}; must be one of {sorted(MODEL_SIZES)}")
        for k, v in MODEL_SIZES[size].items():
            cfg[k] = v
        if cfg.task == "mt30" and size == 19:
            cfg.latent_dim = 512  # TD-MPC2's mt30-19M checkpoint is slightly smaller
    cfg.bin_size = (cfg.vmax - cfg.vmin) / (cfg.num_bins - 1) if cfg.num_bins > 1 else 0.0
    cfg.multitask = cfg.task in TASK_SETS
    if cfg.multitask:
        table = TASK_SETS[cfg.task]
        cfg.task_dim = task_dim_for(size, cfg.task)
        cfg.tasks = [name for name, _, _ in table]
        cfg.obs_dim = max(o for _, o, _ in table)
        cfg.action_dim = max(a for _, _, a in table)
        cfg.action_dims = [a for _, _, a in table]
    else:
        cfg.task_dim = 0
        cfg.tasks = [cfg.task]
        if cfg.task in TASK_DIMS:
            cfg.obs_dim, cfg.action_dim = TASK_DIMS[cfg.task]
            cfg.action_dims = [cfg.action_dim]
    return cfg


def world_model_config(cfg: DictConfig, obs_dim: int | None = None, action_dim: int | None = None) -> WorldModelConfig:
    """The world-model settings of a (derived) TD-MPC2 config; dims default to the task table's."""

    def get(key, default=None):
        return default if key not in cfg or OmegaConf.is_missing(cfg, key) else cfg[key]

    obs_dim = obs_dim if obs_dim is not None else get("obs_dim")
    action_dim = action_dim if action_dim is not None else get("action_dim")
    if obs_dim is None or action_dim is None:
        raise ValueError(f"task {get('task')!r} is not in TD-MPC2's task sets: pass obs_dim and action_dim")
    multitask = bool(get("multitask", False))
    size = get("model_size")
    return WorldModelConfig(
        obs_dim=int(obs_dim),
        action_dim=int(action_dim),
        latent_dim=int(cfg.latent_dim),
        enc_dim=int(cfg.enc_dim),
        mlp_dim=int(cfg.mlp_dim),
        num_enc_layers=int(cfg.num_enc_layers),
        num_q=int(cfg.num_q),
        task_dim=int(cfg.task_dim) if multitask else 0,
        num_tasks=len(cfg.tasks) if multitask else 0,
        action_dims=tuple(int(a) for a in get("action_dims")) if multitask and get("action_dims") else None,
        num_bins=int(cfg.num_bins),
        vmin=float(cfg.vmin),
        vmax=float(cfg.vmax),
        simnorm_dim=int(cfg.simnorm_dim),
        dropout=float(cfg.dropout),
        log_std_min=int(cfg.log_std_min),
        log_std_max=int(cfg.log_std_max),
        episodic=bool(get("episodic", False)),
        model_size=int(size) if size is not None else None,
    )


# ------------------------------------------------------------------------ strict YAML (workflow configs)
def load_yaml_strict(path: str | Path):
    """A YAML file as plain data; a syntax error, a duplicate key or a byte that is not UTF-8 is a
    ValueError naming the file, line and column (PyYAML silently keeps the last of two equal keys,
    and snakemake's loader names neither file nor line)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise ValueError(
                    f"{path}, line {key_node.start_mark.line + 1}, column {key_node.start_mark.column + 1}: "
                    f"duplicate key {key!r} (first at line {seen[key] + 1}); YAML would silently keep "
                    "only the last value"
                )
            seen[key] = key_node.start_mark.line
        return loader.construct_mapping(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:  # e.g. saved as Latin-1 by an editor
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ValueError(
            f"{path}, line {line}, column {column}: not UTF-8 text (byte {data[err.start]:#04x}); "
            "save the file as UTF-8"
        ) from None
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        started = ""
        if err.problem and err.context and err.context_mark and err.context_mark is not mark:
            c = err.context_mark  # where the construct the parser was reading began (an unclosed '[')
            started = f" ({err.context} that starts at line {c.line + 1}, column {c.column + 1})"
        raise ValueError(f"{where}: YAML syntax error: {err.problem or err.context}{started}") from None

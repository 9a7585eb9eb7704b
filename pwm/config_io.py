"""Read TD-MPC2 ``config.yaml`` files without Hydra.

TD-MPC2's config is a flat Hydra file whose only ``defaults`` entry overrides the Hydra launcher,
so ``OmegaConf.load`` + dropping ``defaults`` + merging ``key=value`` overrides reads it exactly
(docs/reference-notes.md §7.8). :func:`load_tdmpc2_config` then derives what TD-MPC2's
``parse_cfg`` derives (model-size architecture, task set, task_dim, dims, bin size), and
:func:`world_model_config` turns the result into a :class:`~pwm.world_model.WorldModelConfig`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

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

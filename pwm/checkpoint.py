"""Load and save TD-MPC2 world-model checkpoints (``{'model': state_dict}``).

Three layouts exist in the wild (docs/reference-notes.md §7.2):

* **current** (since ~Oct 2024): what ``WorldModel.state_dict()`` produces here, including the
  ``_detach_Qs_params`` copy, tensordict's ``__batch_size``/``__device`` entries and int64
  ``log_std_*`` buffers;
* **flat-q** (most public checkpoints, "Format B"): Q ensemble as ``_Qs.params.0..9`` and
  ``_target_Qs.params.0..9``; no detach copy, ``log_std_*``, ``_action_masks`` or ``__*`` entries;
* **nested-sequential** (pre-release, "Format A"): each head is a flat Sequential of Linear,
  LayerNorm and activation modules, so LayerNorms have their own indices instead of ``.ln``.

Everything is converted to the current layout, the architecture is inferred from tensor shapes
(unless the caller pins it), and the load is strict: any missing, unexpected or mis-shaped
tensor raises :class:`CheckpointError` naming the key, the shapes and the size the file looks like.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import torch

from pwm.world_model import MODEL_SIZES, WorldModel, WorldModelConfig, action_masks

HEADS = ("_encoder.state.", "_dynamics.", "_reward.", "_termination.", "_pi.")
_FLAT_Q_FIELDS = ("weight", "bias", "ln.weight", "ln.bias")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the requested world model."""


# ---------------------------------------------------------------------------------------- reading
def read_state_dict(source) -> tuple[dict, str]:
    """Return ``(state_dict, name)`` from a path, a ``{'model': ...}`` dict or a bare state dict."""
    if isinstance(source, (str, os.PathLike)):
        name = str(source)
        if not Path(source).is_file():
            raise CheckpointError(f"{name}: no such checkpoint file")
        from pwm.signing import UntrustedFileError, load_data

        try:
            data = load_data(source, what="TD-MPC2 checkpoint")
        except UntrustedFileError as err:
            raise CheckpointError(str(err)) from None
        except Exception as err:
            raise CheckpointError(
                f"{name}: cannot read the checkpoint (truncated, corrupt or not a torch "
                f"file): {type(err).__name__}: {err}"
            ) from None
    elif isinstance(source, Mapping):
        name, data = "<state dict>", source
    else:
        raise CheckpointError(f"expected a checkpoint path or a state dict, got {type(source).__name__}")
    if isinstance(data, Mapping) and "model" in data and isinstance(data["model"], Mapping):
        data = data["model"]
    if not isinstance(data, Mapping) or not data:
        raise CheckpointError(f"{name}: not a TD-MPC2 checkpoint (expected {{'model': state_dict}})")
    return dict(data), name


def checkpoint_format(sd: Mapping) -> str:
    """'current', 'flat-q' (public Oct-2023 checkpoints) or 'nested-sequential' (pre-release)."""
    head_keys = [k for k in sd if k.startswith(HEADS)]
    if head_keys and not any(".ln." in k for k in head_keys):
        return "nested-sequential"
    if "_detach_Qs_params.0.weight" in sd:
        return "current"
    return "flat-q"


def _index_path(key: str, prefix: str) -> tuple:
    """Sort key of a Sequential parameter name: numeric path, then weight before bias."""
    parts = key[len(prefix) :].split(".")
    return tuple(int(p) for p in parts[:-1] if p.isdigit()), 0 if parts[-1] == "weight" else 1


def _regroup_sequential(items: list[tuple[str, torch.Tensor]], prefix: str) -> dict[str, torch.Tensor]:
    """Rename a Sequential of (Linear, LayerNorm, act) modules to NormedLinear names.

    A Linear's weight has one more dimension than the LayerNorm tensors and its own bias, so
    tensors are grouped in module order: each Linear weight opens a layer, then bias, ln.weight,
    ln.bias follow. Works for flat (``1.weight``, ``2.weight``) and nested (``0.0.weight``) names.
    """
    items = sorted(items, key=lambda kv: _index_path(kv[0], prefix))
    matrix_ndim = max(t.ndim for _, t in items)
    out, layer, slots = {}, -1, iter(())
    for key, tensor in items:
        if tensor.ndim == matrix_ndim:
            layer += 1
            out[f"{layer}.weight"] = tensor
            slots = iter(("bias", "ln.weight", "ln.bias"))
        else:
            slot = next(slots, None)
            if slot is None or layer < 0:
                raise CheckpointError(f"cannot map legacy key '{key}' (shape {tuple(tensor.shape)}) to a layer")
            out[f"{layer}.{slot}"] = tensor
    return out


def _convert_ensemble(sd: dict, old: str, new: list[str]) -> dict:
    """Legacy Q ensembles -> ``<new>.<layer>.<field>``: flat ``<old>.params.N`` or per-member modules."""
    out = {}
    flat = {k: v for k, v in sd.items() if re.fullmatch(re.escape(old) + r"\.params\.\d+", k)}
    if flat:
        for key, tensor in flat.items():
            n = int(key.rsplit(".", 1)[1])
            for prefix in new:
                out[f"{prefix}.{n // 4}.{_FLAT_Q_FIELDS[n % 4]}"] = tensor
        return out
    members: dict[int, list] = {}
    for key, tensor in sd.items():
        if m := re.fullmatch(re.escape(old) + r"\.(\d+)\.(.+)", key):
            members.setdefault(int(m.group(1)), []).append((m.group(2), tensor))
    if members:
        grouped = [_regroup_sequential(members[i], "") for i in sorted(members)]
        for field in grouped[0]:
            for prefix in new:
                out[f"{prefix}.{field}"] = torch.stack([g[field] for g in grouped])
    return out


def to_current_format(sd: Mapping) -> tuple[dict, str]:
    """Convert any known layout to current key names; returns ``(state_dict, format)``.

    Legacy files lack the buffers and tensordict entries; :func:`load_tdmpc2` fills those from
    the freshly built model, as TD-MPC2's own converter does."""
    fmt = checkpoint_format(sd)
    if fmt == "current":
        return dict(sd), fmt
    out: dict = {}
    consumed = set()
    if fmt == "nested-sequential":
        for head in HEADS:
            items = [(k, v) for k, v in sd.items() if k.startswith(head)]
            if items:
                for field, tensor in _regroup_sequential(items, head).items():
                    out[head + field] = tensor
                consumed.update(k for k, _ in items)
    for old, new in (("_Qs", ["_Qs.params", "_detach_Qs_params"]), ("_target_Qs", ["_target_Qs_params"])):
        converted = _convert_ensemble(sd, old, new)
        if converted:
            consumed.update(k for k in sd if k.startswith(old + "."))
            out.update(converted)
    if not any(k.startswith(("_target_Qs_params.", "_target_Qs.")) for k in list(out) + list(sd)):
        warnings.warn("legacy checkpoint has no target Q ensemble; the target starts as a copy of the online Q")
        out.update(
            {
                "_target_Qs_params." + k[len("_Qs.params.") :]: v.clone()
                for k, v in out.items()
                if k.startswith("_Qs.params.")
            }
        )
    for key, value in sd.items():
        if key not in consumed:
            out[key] = value
    return out, fmt


# ---------------------------------------------------------------------------------- architecture
def _shape(sd: Mapping, key: str, name: str) -> tuple[int, ...]:
    if key not in sd or not torch.is_tensor(sd[key]):
        raise CheckpointError(f"{name}: missing key '{key}' needed to infer the architecture")
    return tuple(sd[key].shape)


def _count_layers(sd: Mapping, prefix: str) -> int:
    n = 0
    while f"{prefix}{n}.weight" in sd:
        n += 1
    return n


def match_model_size(cfg: WorldModelConfig) -> int | None:
    """The named TD-MPC2 size with this architecture (mt30-19M's latent 512 included), or None."""
    for size, arch in MODEL_SIZES.items():
        latents = {arch["latent_dim"], 512} if size == 19 else {arch["latent_dim"]}
        if (
            (cfg.enc_dim, cfg.mlp_dim, cfg.num_q) == (arch["enc_dim"], arch["mlp_dim"], arch["num_q"])
            and cfg.latent_dim in latents
            and max(cfg.num_enc_layers, 2) == max(arch["num_enc_layers"], 2)
        ):
            return size
    return None


def infer_config(sd: Mapping, name: str = "<state dict>", action_dims=None) -> WorldModelConfig:
    """Read the architecture off a current-format state dict's tensor shapes."""
    task_dim, num_tasks = 0, 0
    if "_task_emb.weight" in sd:
        num_tasks, task_dim = _shape(sd, "_task_emb.weight", name)
    n_enc = _count_layers(sd, "_encoder.state.")
    if n_enc < 2:
        raise CheckpointError(f"{name}: missing key '_encoder.state.{n_enc}.weight' (state encoder needs >= 2 layers)")
    latent_dim = _shape(sd, f"_encoder.state.{n_enc - 1}.weight", name)[0]
    enc_dim, enc_in = _shape(sd, "_encoder.state.0.weight", name)
    # The [z, task, action] input width appears in three heads; any one of them suffices.
    dyn_key = next((k for k in ("_dynamics.0.weight", "_reward.0.weight") if k in sd), "_dynamics.0.weight")
    mlp_dim, dyn_in = _shape(sd, dyn_key, name)
    action_dim = dyn_in - latent_dim - task_dim
    pi_out = _shape(sd, f"_pi.{_count_layers(sd, '_pi.') - 1}.weight", name)[0]
    if pi_out != 2 * action_dim:
        raise CheckpointError(
            f"{name}: '_pi' outputs {pi_out} values but '_dynamics.0.weight' implies "
            f"action_dim {action_dim}; the file is inconsistent"
        )
    num_q = _shape(sd, "_Qs.params.0.weight" if "_Qs.params.0.weight" in sd else "_target_Qs_params.0.weight", name)[0]
    num_bins = _shape(sd, "_reward.2.weight" if "_reward.2.weight" in sd else "_Qs.params.2.weight", name)[
        -2 if "_reward.2.weight" not in sd else 0
    ]
    if "_action_masks" in sd and sd["_action_masks"].device.type != "meta":
        action_dims = tuple(int(x) for x in sd["_action_masks"].sum(-1).round().tolist())
    elif num_tasks and action_dims is None:
        from pwm.envs.suites import TASK_SETS

        for table in TASK_SETS.values():
            if len(table) == num_tasks and max(a for _, _, a in table) == action_dim:
                action_dims = tuple(a for _, _, a in table)
        if action_dims is None:
            warnings.warn(
                f"{name}: no _action_masks and {num_tasks} tasks match no TD-MPC2 task set; using all-ones action masks"
            )
    log_std = {}
    if "log_std_min" in sd and "log_std_dif" in sd and sd["log_std_min"].device.type != "meta":
        log_std = dict(log_std_min=int(sd["log_std_min"]), log_std_max=int(sd["log_std_min"] + sd["log_std_dif"]))
    cfg = WorldModelConfig(
        obs_dim=enc_in - task_dim,
        action_dim=action_dim,
        latent_dim=latent_dim,
        enc_dim=enc_dim,
        mlp_dim=mlp_dim,
        num_enc_layers=n_enc,
        num_q=num_q,
        task_dim=task_dim,
        num_tasks=num_tasks,
        action_dims=action_dims if num_tasks else None,
        num_bins=num_bins,
        episodic="_termination.0.weight" in sd,
        latent_norm="simnorm" if f"_encoder.state.{n_enc - 1}.ln.weight" in sd else "none",
        **log_std,
    )
    return cfg.replace(model_size=match_model_size(cfg))


def describe(cfg: WorldModelConfig) -> str:
    size = f"model size {cfg.model_size}" if cfg.model_size is not None else "no named model size"
    tasks = f"multitask, {cfg.num_tasks} tasks, task_dim {cfg.task_dim}" if cfg.multitask else "single-task"
    return (
        f"{size} (latent {cfg.latent_dim}, mlp {cfg.mlp_dim}, enc {cfg.enc_dim}, {cfg.num_enc_layers} encoder "
        f"layers, {cfg.num_q} Qs; {tasks}; obs {cfg.obs_dim}, action {cfg.action_dim})"
    )


# ---------------------------------------------------------------------------------------- loading
_CURRENT_KEY = re.compile(
    r"^(log_std_min|log_std_dif|_action_masks|_task_emb\.weight|"
    r"(_encoder\.state|_dynamics|_reward|_termination|_pi)\.\d+\.(ln\.)?(weight|bias)|"
    r"(_Qs\.params|_detach_Qs_params|_target_Qs_params)\.(\d+\.(ln\.)?(weight|bias)|__batch_size|__device))$"
)


def load_tdmpc2(
    source,
    *,
    cfg: WorldModelConfig | None = None,
    model_size: int | None = None,
    obs_dim: int | None = None,
    action_dim: int | None = None,
    num_tasks: int | None = None,
    task_set: str | None = None,
    action_dims=None,
    latent_norm: str | None = None,
    device=None,
) -> WorldModel:
    """Build a :class:`WorldModel` from a TD-MPC2 checkpoint (path or dict), strictly.

    Unspecified architecture settings are inferred from the tensors (``latent_norm`` only as far
    as shapes tell: ``none`` has no LayerNorm; ``simnorm`` and ``layernorm`` look alike, so a
    file's own record of it is passed here). Given settings are
    honoured and checked: a file that does not fit raises :class:`CheckpointError` with the first
    offending key, its expected and found shapes, and the model size the file looks like.
    """
    raw, name = read_state_dict(source)
    sd, fmt = to_current_format(raw)
    try:
        inferred, why_not = infer_config(sd, name, action_dims), ""
    except CheckpointError as err:
        strange = [k for k in sd if not _CURRENT_KEY.match(k)]
        inferred, why_not = None, str(err) + (f"; keys with unknown names: {strange[:3]}" if strange else "")
    looks_like = f"the file looks like {describe(inferred)}" if inferred else f"its architecture is unclear ({why_not})"

    if cfg is None:
        pinned = dict(
            obs_dim=obs_dim,
            action_dim=action_dim,
            num_tasks=num_tasks,
            action_dims=action_dims,
            latent_norm=latent_norm,
        )
        pinned = {k: v for k, v in pinned.items() if v is not None}
        if model_size is not None or task_set is not None:
            base = inferred or WorldModelConfig(obs_dim=0, action_dim=0)
            if model_size is None:
                model_size = base.model_size
            if model_size is None:
                raise CheckpointError(f"{name}: pass model_size; {looks_like}")
            dims = dict(
                obs_dim=pinned.pop("obs_dim", base.obs_dim),
                action_dim=pinned.pop("action_dim", base.action_dim),
                num_tasks=pinned.pop("num_tasks", base.num_tasks),
            )
            extra = {"action_dims": pinned.pop("action_dims", base.action_dims if base.multitask else None)}
            extra |= {"latent_norm": pinned.pop("latent_norm", base.latent_norm)}
            cfg = WorldModelConfig.for_model_size(
                model_size, task_set=task_set, **dims, **extra, episodic=base.episodic if inferred else False
            )
        elif inferred is None:
            raise CheckpointError(f"{name}: cannot infer the architecture: {why_not}")
        else:
            cfg = inferred.replace(**pinned)

    with torch.device("meta"):  # shapes only: a mismatch fails before any real allocation
        expected = WorldModel(cfg).state_dict()
    if fmt != "current":  # legacy files lack buffers and tensordict bookkeeping; take them from a fresh model
        fresh = _derived_entries(cfg)
        for key in expected:
            if key not in sd and key in fresh:
                sd[key] = fresh[key]
    _check_against(expected, sd, name, cfg, looks_like)
    check_finite(sd, name)
    model = WorldModel(cfg)
    model.load_state_dict(sd, strict=True)
    return model.to(device) if device is not None else model


def check_finite(sd: Mapping, name: str) -> None:
    """A world model with NaN or infinite weights is refused, naming the first offending key."""
    for key, value in sd.items():
        if torch.is_tensor(value) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            count = int((~torch.isfinite(value)).sum())
            kinds = [
                kind
                for kind, hit in (
                    ("NaN", torch.isnan(value)),
                    ("+inf", value == float("inf")),
                    ("-inf", value == float("-inf")),
                )
                if bool(hit.any())
            ]
            raise CheckpointError(
                f"{name}: key '{key}' holds {count} non-finite value(s) ({', '.join(kinds)}) "
                f"of {value.numel()}; a world model with non-finite weights cannot be used "
                "(was it saved after training diverged?)"
            )


def _derived_entries(cfg: WorldModelConfig) -> dict:
    """What legacy files leave out and a fresh model defines: log_std buffers, masks, ``__*`` entries."""
    entries = {
        "log_std_min": torch.tensor(cfg.log_std_min),
        "log_std_dif": torch.tensor(cfg.log_std_max) - torch.tensor(cfg.log_std_min),
    }
    if cfg.multitask:
        entries["_action_masks"] = action_masks(cfg)
    for prefix in ("_Qs.params.", "_detach_Qs_params.", "_target_Qs_params."):
        entries[prefix + "__batch_size"] = torch.Size([cfg.num_q])
        entries[prefix + "__device"] = None
    return entries


def _check_against(expected: Mapping, found: Mapping, name: str, cfg: WorldModelConfig, looks_like: str) -> None:
    wanted = f"expected for {describe(cfg)}"
    unexpected = [k for k in found if k not in expected]
    for key, value in expected.items():
        if key not in found:
            hint = f"; unexpected keys in the file: {unexpected[:3]}" if unexpected else ""
            shape = tuple(value.shape) if torch.is_tensor(value) else value
            raise CheckpointError(f"{name}: missing key '{key}' (expected shape {shape}){hint}; {looks_like}")
        have = found[key]
        if torch.is_tensor(value):
            if not torch.is_tensor(have) or have.shape != value.shape:
                have_shape = tuple(have.shape) if torch.is_tensor(have) else repr(have)
                raise CheckpointError(
                    f"{name}: key '{key}' has shape {have_shape}, expected {tuple(value.shape)} "
                    f"({wanted}); {looks_like}"
                )
        elif key.endswith("__batch_size") and tuple(have) != tuple(value):
            raise CheckpointError(f"{name}: key '{key}' is {have}, expected {value}; {looks_like}")
    if unexpected:
        raise CheckpointError(
            f"{name}: unexpected key '{unexpected[0]}' ({len(unexpected)} in all) for {describe(cfg)}"
        )


# ---------------------------------------------------------------------------------------- saving
def save_tdmpc2(model: WorldModel, path) -> None:
    """Write ``{'model': state_dict}`` in TD-MPC2's current format (CPU tensors), atomically."""
    from pwm import atomic

    sd = OrderedDict((k, v.detach().cpu() if torch.is_tensor(v) else v) for k, v in model.state_dict().items())
    atomic.torch_save(path, {"model": sd})  # temp file removed on failure; errors name the path

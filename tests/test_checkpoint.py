"""TD-MPC2 checkpoints load strictly in every layout, save back exactly, and bad files fail clearly."""

import pytest
import torch

from pwm.checkpoint import CheckpointError, checkpoint_format, load_tdmpc2, save_tdmpc2
from pwm.world_model import WorldModel, WorldModelConfig


def state_dicts_equal(a, b):
    assert list(a) == list(b)
    for key in b:
        if torch.is_tensor(b[key]):
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize(
    "name,fmt,tasks",
    [
        ("walker-walk-size1", "current", 0),
        ("mt30-size1", "current", 30),
        ("walker-walk-size1-legacy", "flat-q", 0),
        ("mt30-size1-legacy", "flat-q", 30),
    ],
)
def test_reference_checkpoints_load_and_save_as_current_format(reference_dir, tmp_path, name, fmt, tasks):
    raw = torch.load(reference_dir / "tdmpc2" / f"{name}.pt", weights_only=True)["model"]
    assert checkpoint_format(raw) == fmt
    model = load_tdmpc2(reference_dir / "tdmpc2" / f"{name}.pt")
    assert model.cfg.model_size == 1 and model.cfg.num_tasks == tasks
    assert (model.cfg.obs_dim, model.cfg.action_dim) == (24, 6)
    save_tdmpc2(model, tmp_path / "out.pt")
    saved = torch.load(tmp_path / "out.pt", weights_only=True)
    assert list(saved) == ["model"]
    # legacy files convert to exactly the current-format reference file (same weights, same layout)
    current = torch.load(reference_dir / "tdmpc2" / f"{name.replace('-legacy', '')}.pt", weights_only=True)["model"]
    state_dicts_equal(saved["model"], current)
    assert saved["model"]["log_std_min"].dtype == torch.int64
    assert (
        saved["model"]["_Qs.params.__batch_size"] == torch.Size([2]) and saved["model"]["_Qs.params.__device"] is None
    )


def test_saved_checkpoint_round_trips_bitwise(tmp_path):
    torch.manual_seed(0)
    cfg = WorldModelConfig.for_model_size(1, 24, 6, task_set="mt30", action_dims=(6, 2, 1) * 10)
    model = WorldModel(cfg)
    with torch.no_grad():
        for t in list(model.parameters()) + list(model._target_Qs_params.buffers()):
            t.add_(torch.randn_like(t))
    save_tdmpc2(model, tmp_path / "a.pt")
    loaded = load_tdmpc2(tmp_path / "a.pt")
    assert loaded.cfg.action_dims == cfg.action_dims
    state_dicts_equal(loaded.state_dict(), model.state_dict())
    save_tdmpc2(loaded, tmp_path / "again" / "a.pt")  # same file name: torch.save records it in the archive
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "again" / "a.pt").read_bytes()


def test_truncated_file_fails_clearly(tmp_path):
    save_tdmpc2(WorldModel(WorldModelConfig.for_model_size(1, 5, 2)), tmp_path / "full.pt")
    data = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt: cannot read the checkpoint \(truncated"):
        load_tdmpc2(tmp_path / "cut.pt")


def test_19m_file_loaded_as_48m_names_key_shapes_and_size():
    sd = WorldModel(WorldModelConfig.for_model_size(19, 24, 6, task_set="mt30")).state_dict()
    with pytest.raises(CheckpointError) as err:
        load_tdmpc2(sd, model_size=48, task_set="mt30")
    msg = str(err.value)
    assert "'_encoder.state.0.weight'" in msg
    assert "(1024, 88)" in msg and "(1792, 88)" in msg
    assert "looks like model size 19" in msg


def test_renamed_key_fails_clearly(reference_dir):
    sd = dict(torch.load(reference_dir / "tdmpc2" / "walker-walk-size1.pt", weights_only=True)["model"])
    sd["_reward.1.weights"] = sd.pop("_reward.1.weight")
    with pytest.raises(CheckpointError) as err:
        load_tdmpc2(sd)
    msg = str(err.value)
    assert "missing key '_reward.1.weight' (expected shape (384, 384))" in msg
    assert "_reward.1.weights" in msg and "model size 1" in msg


def test_renamed_key_without_reference_files():
    sd = WorldModel(WorldModelConfig.for_model_size(1, 5, 2)).state_dict()
    sd["_encoder.state.0.wieght"] = sd.pop("_encoder.state.0.weight")
    with pytest.raises(CheckpointError, match=r"_encoder\.state\.0\.weight.*_encoder\.state\.0\.wieght"):
        load_tdmpc2(sd)
    sd = WorldModel(WorldModelConfig.for_model_size(1, 5, 2)).state_dict()
    sd["_Qs.params.extra"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"unexpected key '_Qs\.params\.extra'"):
        load_tdmpc2(sd)
    sd = WorldModel(WorldModelConfig.for_model_size(1, 5, 2)).state_dict()
    del sd["_detach_Qs_params.__batch_size"]
    with pytest.raises(CheckpointError, match=r"missing key '_detach_Qs_params\.__batch_size'"):
        load_tdmpc2(sd)


def nested_sequential(sd, nested):
    """Rewrite a current-format dict in the pre-release layout: LayerNorms as their own modules."""
    out = {}
    for key, value in sd.items():
        for head in ("_encoder.state.", "_dynamics.", "_reward.", "_pi."):
            if key.startswith(head):
                layer, field = key[len(head) :].split(".", 1)
                layer = int(layer)
                if nested:  # Sequential(Sequential(Linear, LayerNorm, Mish), ...)
                    new = f"{layer}.1.{field[3:]}" if field.startswith("ln.") else f"{layer}.0.{field}"
                else:  # flat Sequential(Linear, LayerNorm, Mish, Linear, ...)
                    new = f"{3 * layer + 1}.{field[3:]}" if field.startswith("ln.") else f"{3 * layer}.{field}"
                out[head + new] = value
                break
        else:
            if key.startswith(("_Qs.params.", "_target_Qs_params.")) and "__" not in key:  # flat numbered Qs
                prefix = "_Qs.params." if key.startswith("_Qs.") else "_target_Qs.params."
                layer, field = (
                    key.split(".", 2)[-1].split(".", 1)
                    if prefix == "_Qs.params."
                    else key.split(".", 1)[1].split(".", 1)
                )
                out[prefix + str(4 * int(layer) + ["weight", "bias", "ln.weight", "ln.bias"].index(field))] = value
    return out


@pytest.mark.parametrize("nested", [False, True])
def test_nested_sequential_legacy_layout_loads(nested):
    torch.manual_seed(0)
    model = WorldModel(WorldModelConfig.for_model_size(1, 5, 2))
    sd = nested_sequential(model.state_dict(), nested)
    assert checkpoint_format(sd) == "nested-sequential"
    state_dicts_equal(load_tdmpc2(sd).state_dict(), model.state_dict())


def test_pinned_settings_are_checked_and_inference_fills_the_rest():
    sd = WorldModel(WorldModelConfig.for_model_size(5, 17, 6)).state_dict()
    model = load_tdmpc2(sd, model_size=5)
    assert (model.cfg.obs_dim, model.cfg.latent_dim, model.cfg.num_q) == (17, 512, 5)
    with pytest.raises(
        CheckpointError, match=r"'_encoder\.state\.0\.weight' has shape \(256, 17\), expected \(256, 24\)"
    ):
        load_tdmpc2(sd, obs_dim=24)

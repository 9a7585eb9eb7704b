"""Untrusted files never run code: a planted pickle in any file pwm-bench loads is refused, naming
the file, before any of its objects is rebuilt (issue 17, item 1); and load_tdmpc2 refuses
non-finite weights (item 6).

The planted object's ``__reduce__`` calls ``os.system("touch <marker>")``: if anything unpickled
it, the marker file would exist.
"""

import os
import pickle
import shutil
import subprocess
import sys

import pytest
import torch

from helpers import subprocess_env

SAC_ARGS = [
    "--algo",
    "sac",
    "--task",
    "cartpole-balance",
    "--seed",
    "2",
    "--steps",
    "200",
    "--eval-every",
    "100",
    "--eval-episodes",
    "1",
    "--set",
    "learning_starts=50",
    "--set",
    "batch_size=32",
]


class Planted:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def sac_command(out):
    return [sys.executable, "-m", "pwm.cli", "train", *SAC_ARGS, "--out", str(out)]


def env_with_key(key_file):
    return {**subprocess_env(), "PWM_BENCH_KEY_FILE": str(key_file), "OMP_NUM_THREADS": "1"}


def train(out, key_file):
    return subprocess.run(sac_command(out), env=env_with_key(key_file), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def sac_run(tmp_path_factory):
    """A finished SAC run (checkpoint at step 200) signed with its own key file."""
    root = tmp_path_factory.mktemp("sac")
    key = root / "key"
    result = train(root / "run", key)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "run", key


def copy_run(sac_run, dest):
    run, key = sac_run
    shutil.copytree(run, dest)
    (dest / "eval.csv").unlink()  # so the rerun resumes instead of being a finished job
    return dest, key


def test_a_planted_run_checkpoint_is_refused_and_nothing_runs(tmp_path):
    out, marker = tmp_path / "run", tmp_path / "marker"
    out.mkdir()
    torch.save({"format": "pwm-bench-run/1", "payload": Planted(marker)}, out / "checkpoint.pt")
    result = train(out, tmp_path / "key")
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"{out / 'checkpoint.pt'}: refusing to load this run checkpoint" in result.stderr
    assert "posix.system" in result.stderr  # the object it would have needed
    assert not marker.exists()
    assert (out / "checkpoint.pt").exists()  # refused, not silently discarded
    assert not (out / "eval.csv").exists()


def test_an_untouched_signed_checkpoint_resumes(sac_run, tmp_path):
    out, key = copy_run(sac_run, tmp_path / "run")
    result = train(out, key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"resuming from {out / 'checkpoint.pt'} at step 200" in result.stdout
    assert (out / "eval.csv").exists()


@pytest.mark.parametrize("blob", ["env", "model"])
def test_a_planted_pickle_inside_the_sb3_payload_is_refused(sac_run, tmp_path, blob):
    out, key = copy_run(sac_run, tmp_path / "run")
    marker = tmp_path / "marker"
    ckpt = torch.load(out / "checkpoint.pt", weights_only=False)  # the test's own file: trusted
    evil = pickle.dumps(Planted(marker))
    if blob == "env":
        ckpt["payload"]["env"]["pickle"] = evil  # the old signature is kept: it no longer matches
    else:
        ckpt["payload"]["model"]["bytes"] = evil
    torch.save(ckpt, out / "checkpoint.pt")
    result = train(out, key)
    assert result.returncode == 3, result.stdout + result.stderr
    what = "pickled training environment" if blob == "env" else "SB3 model zip"
    assert f"{out / 'checkpoint.pt'}: the signature of its {what} does not match" in result.stderr
    assert not marker.exists()


def test_a_copied_run_folder_signed_with_another_key_is_refused(sac_run, tmp_path):
    out, _ = copy_run(sac_run, tmp_path / "run")
    result = train(out, tmp_path / "my-own-key")  # another user's machine: another key
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"{out / 'checkpoint.pt'}: the signature of its SB3 model zip does not match" in result.stderr
    assert "PWM_BENCH_KEY_FILE" in result.stderr


def test_an_unsigned_payload_blob_is_refused(sac_run, tmp_path):
    """A checkpoint whose env is a bare pickle (as older pwm-bench wrote it) is not unpickled."""
    out, key = copy_run(sac_run, tmp_path / "run")
    marker = tmp_path / "marker"
    ckpt = torch.load(out / "checkpoint.pt", weights_only=False)
    ckpt["payload"]["env"] = pickle.dumps(Planted(marker))
    torch.save(ckpt, out / "checkpoint.pt")
    result = train(out, key)
    assert result.returncode == 3
    assert f"{out / 'checkpoint.pt'}: its pickled training environment is not a signed blob" in result.stderr
    assert not marker.exists()


def test_a_planted_pretraining_state_is_refused(tmp_path):
    from pwm.data.build import build_dataset
    from pwm.pretrain import PretrainSettings, pretrain
    from pwm.signing import UntrustedFileError
    from test_pretrain import fake_run

    build_dataset([fake_run(tmp_path / "cb", "cartpole-balance", 5, 1, episodes=1)], "mt30", tmp_path / "data")
    settings = PretrainSettings(
        data_dirs=[str(tmp_path / "data")],
        out_dir=str(tmp_path / "wm"),
        model_size=1,
        horizon=4,
        batch_size=8,
        steps=10,
        checkpoint_every=10,
        log_every=10,
    )
    pretrain(settings)
    state = tmp_path / "wm" / "state.pt"
    real = torch.load(state, weights_only=True)  # what pwm-bench writes loads as plain data
    marker = tmp_path / "marker"
    torch.save({**real, "history": [Planted(marker)]}, state)
    settings.steps = 20
    with pytest.raises(UntrustedFileError, match=f"{state}: refusing to load this pretraining state"):
        pretrain(settings)
    assert not marker.exists()


def test_a_planted_world_model_or_chunk_is_refused(tmp_path):
    from pwm.checkpoint import CheckpointError, load_tdmpc2
    from pwm.data.chunks import DatasetError, load_chunk
    from pwm.singletask_pretrain import load_world_model

    marker, path = tmp_path / "marker", tmp_path / "world_model.pt"
    torch.save({"model": {"_encoder.state.0.weight": Planted(marker)}}, path)
    with pytest.raises(CheckpointError, match=f"{path}: refusing to load this TD-MPC2 checkpoint"):
        load_tdmpc2(path)
    with pytest.raises(CheckpointError, match=f"{path}: refusing"):
        load_world_model(path)  # single-task PWM's world_model.pt (pwm.singletask_pretrain)
    with pytest.raises(DatasetError, match=str(path)):
        load_chunk(path)
    assert not marker.exists()


def test_load_tdmpc2_refuses_non_finite_weights_naming_the_key(tmp_path):
    from pwm.checkpoint import CheckpointError, load_tdmpc2, save_tdmpc2
    from pwm.world_model import WorldModel, WorldModelConfig

    model = WorldModel(WorldModelConfig.for_model_size(1, 5, 2))
    first, second = [name for name, _ in model.named_parameters()][2:4]
    with torch.no_grad():
        dict(model.named_parameters())[first].view(-1)[0] = float("nan")
        dict(model.named_parameters())[second].view(-1)[0] = float("inf")
    save_tdmpc2(model, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match=rf"nan.pt: key '{first}' holds 1 non-finite value\(s\) \(NaN\)"):
        load_tdmpc2(tmp_path / "nan.pt")
    save_tdmpc2(WorldModel(WorldModelConfig.for_model_size(1, 5, 2)), tmp_path / "ok.pt")
    load_tdmpc2(tmp_path / "ok.pt")  # finite weights still load

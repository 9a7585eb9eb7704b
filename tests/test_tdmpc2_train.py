"""`pwm-bench train --algo tdmpc2`: a short run writes eval.csv and a dataset chunk, and resumes.

Meta-World's 100-step episodes keep the planning evaluations cheap."""
import pandas as pd
import torch

from baselines import tdmpc2
from pwm.checkpoint import load_tdmpc2
from pwm.data.chunks import load_chunk
from pwm.run import Run, RunSettings

FAST = dict(model_size=1, seed_steps=20, batch_size=8, num_samples=16, num_elites=4, num_pi_trajs=2,
            iterations=1, progress_every=100)


def settings(out, steps):
    return RunSettings(algo="tdmpc2", task="mw-reach", seed=0, out_dir=str(out), steps=steps,
                       eval_every=100, eval_episodes=1, hparams=dict(FAST))


def test_short_run_then_resume(tmp_path, capsys):
    tdmpc2.train(Run(settings(tmp_path, 100)))
    first = pd.read_csv(tmp_path / "eval.csv")
    assert first["step"].tolist() == [0, 100] and first["env_steps"].tolist() == [0, 100]
    chunk = load_chunk(tmp_path / "dataset" / "chunk_0.pt")
    assert tuple(chunk.batch_size) == (1, 101) and torch.isnan(chunk["action"][:, 0]).all()
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["payload"]
    assert payload["step"] == 100 and payload["replay"]["num_added"] == 1
    model = load_tdmpc2(payload["model"])  # TD-MPC2's format, strict
    load_tdmpc2(tmp_path / "model.pt")
    assert model.cfg.model_size == 1 and model.cfg.obs_dim == 39 and model.cfg.action_dim == 4
    assert float(payload["agent"]["scale"]["value"]) >= 1.0  # the Q scale is part of the state
    assert payload["agent"]["optim"]["state"]  # Adam moments are kept

    capsys.readouterr()
    tdmpc2.train(Run(settings(tmp_path, 200)))  # the same run, with a larger budget
    out = capsys.readouterr().out
    assert "resuming from" in out and "from step 100" in out and "pretraining" not in out
    rows = pd.read_csv(tmp_path / "eval.csv")
    assert rows["step"].tolist() == [0, 100, 200]
    assert rows.iloc[:2].equals(first)
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["payload"]
    assert payload["step"] == 200 and payload["replay"]["num_added"] == 2


def test_unknown_hyperparameter_is_rejected():
    import pytest

    with pytest.raises(ValueError, match="unknown tdmpc2 hyperparameters"):
        tdmpc2.load_hparams({"horizn": 5})

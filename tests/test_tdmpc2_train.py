"""`pwm-bench train --algo tdmpc2`: a short run writes eval.csv and a dataset chunk, and resumes."""
import pandas as pd
import torch

from baselines import tdmpc2
from pwm.checkpoint import load_tdmpc2
from pwm.data.chunks import load_chunk
from pwm.run import Run, RunSettings

FAST = dict(model_size=1, seed_steps=100, batch_size=16, num_samples=16, num_elites=4, num_pi_trajs=2,
            iterations=1, progress_every=100)


def settings(out, steps):
    return RunSettings(algo="tdmpc2", task="cartpole-balance", seed=0, out_dir=str(out), steps=steps,
                       eval_every=200, eval_episodes=1, hparams=dict(FAST))


def test_short_run_then_resume(tmp_path, capsys):
    tdmpc2.train(Run(settings(tmp_path, 200)))
    first = pd.read_csv(tmp_path / "eval.csv")
    assert first["step"].tolist() == [0, 200] and first["env_steps"].tolist() == [0, 200]
    chunk = load_chunk(tmp_path / "dataset" / "chunk_0.pt")
    assert tuple(chunk.batch_size) == (1, 201)  # the budget cut the only episode at 200 steps
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["payload"]
    assert payload["step"] == 200 and payload["replay"]["num_added"] == 1
    model = load_tdmpc2(payload["model"])  # TD-MPC2's format, strict
    assert model.cfg.model_size == 1 and model.cfg.obs_dim == 5 and model.cfg.action_dim == 1
    assert float(payload["agent"]["scale"]["value"]) > 1.0  # the Q scale has moved and is kept

    capsys.readouterr()
    tdmpc2.train(Run(settings(tmp_path, 400)))  # the same run, with a larger budget
    out = capsys.readouterr().out
    assert "resuming from" in out and "from step 200" in out and "pretraining" not in out
    rows = pd.read_csv(tmp_path / "eval.csv")
    assert rows["step"].tolist() == [0, 200, 400]
    assert rows.iloc[:2].equals(first)
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["payload"]
    assert payload["step"] == 400 and payload["replay"]["num_added"] == 2


def test_unknown_hyperparameter_is_rejected():
    import pytest

    with pytest.raises(ValueError, match="unknown tdmpc2 hyperparameters"):
        tdmpc2.load_hparams({"horizn": 5})

"""`pwm-bench train --algo tdmpc2`: a short run writes eval.csv and a dataset chunk, and resumes.

Meta-World's 100-step episodes keep the planning evaluations cheap."""

import pandas as pd
import pytest
import torch

from baselines import tdmpc2
from pwm.checkpoint import load_tdmpc2
from pwm.data.chunks import load_chunk
from pwm.run import Run, RunSettings

FAST = dict(
    model_size=1,
    seed_steps=20,
    batch_size=8,
    num_samples=16,
    num_elites=4,
    num_pi_trajs=2,
    iterations=1,
    progress_every=100,
)


def settings(out, steps):
    return RunSettings(
        algo="tdmpc2",
        task="mw-reach",
        seed=0,
        out_dir=str(out),
        steps=steps,
        eval_every=100,
        eval_episodes=1,
        hparams=dict(FAST),
    )


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


def hopper_settings(out, steps, **hparams):
    return RunSettings(
        algo="tdmpc2",
        task="hopper",
        seed=0,
        out_dir=str(out),
        steps=steps,
        eval_every=steps,
        eval_episodes=1,
        hparams=dict(FAST, **hparams),
    )


def test_hopper_is_episodic_by_default_and_keeps_its_termination_head(tmp_path, capsys, monkeypatch):
    # Random actions make the differentiable hopper fall within the 60 steps, so episodes end by
    # ``terminated``; the default episodic=auto gives the agent a termination head. (A 60-step
    # budget leaves the replay one episode slot; horizon 1 can sample even a 1-step episode.)
    added, add = [], tdmpc2.EpisodicReplay.add

    def recording_add(self, obs, action, reward, terminated=False):
        added.append((len(action), terminated))
        add(self, obs, action, reward, terminated=terminated)

    monkeypatch.setattr(tdmpc2.EpisodicReplay, "add", recording_add)
    tdmpc2.train(Run(hopper_settings(tmp_path, 60, horizon=1, export_dataset=False)))
    assert "episodic True" in capsys.readouterr().out
    # Every episode but the budget-cut last one fell (terminated) before hopper's 1000-step limit.
    assert len(added) >= 2 and sum(n for n, _ in added) == 60
    assert all(term and n < 1000 for n, term in added[:-1])
    payload = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["payload"]
    assert "terminal" in payload["replay"]
    model = load_tdmpc2(tmp_path / "model.pt")  # strict, with the _termination keys
    assert model.cfg.episodic and any(k.startswith("_termination.") for k in payload["model"])
    assert payload["agent"]["optim"]["state"]


def test_termination_without_episodic_mode_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="hopper terminated an episode .* not episodic"):
        tdmpc2.train(Run(hopper_settings(tmp_path, 60, episodic=False)))

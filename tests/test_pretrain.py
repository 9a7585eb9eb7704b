"""Offline multitask pretraining, suite datasets from replay exports, and planning evaluation."""

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from pwm.checkpoint import load_tdmpc2
from pwm.data.build import build_dataset
from pwm.data.chunks import load_chunk, save_chunk
from pwm.data.replay import EpisodeReplay
from pwm.eval_planning import eval_planning
from pwm.pretrain import PretrainSettings, pretrain


def fake_run(path, task, obs_dim, action_dim, episodes=2, length=500, seed=0):
    """A run directory as `train --algo tdmpc2` leaves it: config.yaml + dataset/chunk_0.pt."""
    rng = np.random.default_rng(seed)
    buf = EpisodeReplay(obs_dim, action_dim, length, episodes * length)
    for _ in range(episodes):
        action = rng.uniform(-1, 1, (length, action_dim))
        obs = np.cumsum(
            np.concatenate(
                [rng.normal(size=(1, obs_dim)), 0.1 * action.sum(1, keepdims=True) * np.ones((length, obs_dim))]
            ),
            axis=0,
        )
        buf.add(obs, action, np.tanh(obs[1:, 0]) + 1)  # a learnable reward of the reached state
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(yaml.safe_dump({"task": task}))
    save_chunk(buf.to_chunk(), path / "dataset" / "chunk_0.pt")
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    runs = [
        fake_run(root / "cb", "cartpole-balance", 5, 1, seed=1),
        fake_run(root / "ws", "walker-stand", 24, 6, seed=2),
    ]
    build_dataset(runs, "mt30", root / "data")
    return root / "data"


def test_build_dataset_relabels_pads_and_keeps_dummies(dataset):
    chunk = load_chunk(dataset / "chunk_0.pt", num_tasks=30)
    assert tuple(chunk.batch_size) == (4, 501) and chunk["obs"].shape[-1] == 24 and chunk["action"].shape[-1] == 6
    assert chunk["task"][:, 0].tolist() == [8, 8, 0, 0]  # cartpole-balance, walker-stand in mt30
    assert torch.all(chunk["obs"][:2, :, 5:] == 0) and torch.all(chunk["action"][:2, 1:, 1:] == 0)
    assert torch.isnan(chunk["action"][:, 0]).all() and torch.isnan(chunk["reward"][:, 0]).all()


def test_build_dataset_mt80_rows_share_boundary_observations(tmp_path):
    run = fake_run(tmp_path / "cb", "cartpole-balance", 5, 1, episodes=1)
    build_dataset([run], "mt80", tmp_path / "data")
    chunk = load_chunk(tmp_path / "data" / "chunk_0.pt", num_tasks=80)
    original = load_chunk(run / "dataset" / "chunk_0.pt")
    assert tuple(chunk.batch_size) == (5, 101) and chunk["obs"].shape[-1] == 39
    for k in range(5):
        torch.testing.assert_close(chunk["obs"][k, :, :5], original["obs"][0, 100 * k : 100 * k + 101])
        torch.testing.assert_close(chunk["reward"][k, 1:], original["reward"][0, 100 * k + 1 : 100 * k + 101])


def test_a_self_collected_dataset_is_compared_with_the_public_one_in_the_log(tmp_path, capsys):
    run = fake_run(tmp_path / "cb", "cartpole-balance", 5, 1, episodes=1)  # one 500-step episode
    build_dataset([run], "mt80", tmp_path / "data")
    out = capsys.readouterr().out
    assert "WARNING: self-collected mt80 dataset: 500 transitions from 1 run(s)" in out
    assert f"{550_450_000 / 500:,.1f}x fewer than TD-MPC2's public mt80 dataset (550.45M)" in out
    assert "world_model.dataset" in out


def settings(data, out, steps, **kw):
    return PretrainSettings(
        data_dirs=[str(data)],
        out_dir=str(out),
        task_set="mt30",
        model_size=1,
        horizon=4,
        rho=0.99,
        batch_size=16,
        steps=steps,
        checkpoint_every=10,
        log_every=10,
        seed=3,
        **kw,
    )


def test_pretrain_lowers_losses_and_saves_strict_tdmpc2_checkpoints(dataset, tmp_path):
    final = pretrain(settings(dataset, tmp_path, 60, hparams={"lr": 1e-3}))
    losses = pd.read_csv(tmp_path / "losses.csv")
    assert losses["step"].tolist() == [10, 20, 30, 40, 50, 60]
    for key in ("reward", "value", "total"):
        assert losses[key].iloc[-1] < 0.7 * losses[key].iloc[0], (key, losses[key].tolist())
    model = load_tdmpc2(final)
    assert model.multitask and model.cfg.num_tasks == 30 and model.cfg.model_size == 1
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir())[:2] == ["step_10.pt", "step_20.pt"]


def test_pretrain_resume_is_exact(dataset, tmp_path):
    straight = pretrain(settings(dataset, tmp_path / "a", 20))
    pretrain(settings(dataset, tmp_path / "b", 10))
    resumed = pretrain(settings(dataset, tmp_path / "b", 20))
    a, b = load_tdmpc2(straight).state_dict(), load_tdmpc2(resumed).state_dict()
    for k, v in a.items():
        if torch.is_tensor(v):
            torch.testing.assert_close(b[k], v, rtol=0, atol=0, msg=k)
    changed = settings(dataset, tmp_path / "b", 30)
    changed.horizon = 3
    with pytest.raises(ValueError, match="was written with"):
        pretrain(changed)


def test_eval_planning_writes_eval_rows(dataset, tmp_path):
    model_path = pretrain(settings(dataset, tmp_path / "m", 5))
    frame = eval_planning(
        model_path,
        ["cartpole-balance"],
        tmp_path / "eval.csv",
        task_set="mt30",
        episodes=1,
        seed=1,
        step=5,
        planner=dict(num_samples=16, num_elites=4, num_pi_trajs=2, iterations=1),
    )
    saved = pd.read_csv(tmp_path / "eval.csv")
    assert saved["task"].tolist() == ["cartpole-balance"] and saved["step"].tolist() == [5]
    assert saved["episode_reward"].iloc[0] == pytest.approx(frame["episode_reward"].iloc[0])
    assert 0 <= saved["episode_reward"].iloc[0] <= 1000
    with pytest.raises(ValueError, match="not in mt30"):
        eval_planning(model_path, ["mw-reach"], tmp_path / "x.csv", task_set="mt30", episodes=1)


def test_pretrain_nan_loss_stops_and_keeps_the_last_checkpoint(dataset, tmp_path, monkeypatch):
    from pwm import tdmpc2_agent
    from pwm.run import DivergedError

    original, calls = tdmpc2_agent.world_model_losses, [0]

    def nan_from_update_13(*args, **kwargs):  # a real NaN loss: backward carries it into the weights
        losses = original(*args, **kwargs)
        calls[0] += 1
        return {**losses, "value": losses["value"] * float("nan")} if calls[0] > 12 else losses

    monkeypatch.setattr(tdmpc2_agent, "world_model_losses", nan_from_update_13)
    with pytest.raises(DivergedError) as err:
        pretrain(settings(dataset, tmp_path, 30))
    message = str(err.value)
    assert message.startswith(f"pretraining in {tmp_path} diverged at step 13: non-finite loss value=nan")
    assert f"the last good checkpoint (step 10) is kept at {tmp_path / 'checkpoints' / 'step_10.pt'}" in message
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_10.pt"]
    assert torch.load(tmp_path / "state.pt", weights_only=False)["step"] == 10
    for k, v in load_tdmpc2(tmp_path / "checkpoints" / "step_10.pt").state_dict().items():
        assert not torch.is_tensor(v) or torch.isfinite(v).all(), k

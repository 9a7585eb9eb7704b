"""SHAC: TD(λ) targets, configuration, a CLI smoke run writing eval.csv and a TD-MPC2-format
rollout dataset, checkpoint resume, and an exact state round trip. Real physics (cartpole)."""

import json

import pandas as pd
import pytest
import torch

from baselines import shac
from baselines.shac import SHAC, config_for, td_lambda_targets
from pwm.data.chunks import load_chunk
from pwm.run import Run, RunSettings
from tests.helpers import PROJECT_ROOT, run

# Tiny tensors: torch's OpenMP workers only spin-wait (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_torch_thread")


TINY = {
    "num_envs": 8,
    "horizon": 16,
    "critic_iterations": 2,
    "dataset_envs": 4,
    "dataset_segment": 8,
    "progress_every": 1,
}


def test_td_lambda_targets_match_the_lambda_return_definition():
    gamma, lam = 0.9, 0.7
    rewards = torch.tensor([[1.0], [2.0], [3.0]])
    values = torch.tensor([[10.0], [20.0], [30.0]])  # V(s_{t+1}) after each step
    dones = torch.tensor([[0.0], [0.0], [1.0]])
    targets = td_lambda_targets(rewards, values, dones, gamma, lam)
    # n-step returns from t = 0, bootstrapped with V(s_n); the window ends after 3 steps
    g1 = 1 + gamma * 10
    g2 = 1 + gamma * 2 + gamma**2 * 20
    g3 = 1 + gamma * 2 + gamma**2 * 3 + gamma**3 * 30
    expected0 = (1 - lam) * (g1 + lam * g2) + lam**2 * g3
    assert float(targets[0, 0]) == pytest.approx(expected0)
    assert float(targets[2, 0]) == pytest.approx(3 + gamma * 30)
    # a done in the middle cuts the return: V after the done step is its bootstrap value
    dones = torch.tensor([[1.0], [0.0], [1.0]])
    targets = td_lambda_targets(rewards, values, dones, gamma, lam)
    assert float(targets[0, 0]) == pytest.approx(1 + gamma * 10)


def test_config_defaults_overrides_and_errors():
    cfg = config_for("hopper", {"num_envs": 32})
    assert cfg["num_envs"] == 32 and cfg["horizon"] == 32 and cfg["critic_lr"] == 2e-4
    assert config_for("humanoid", {})["target_alpha"] == 0.995
    with pytest.raises(ValueError, match="unknown SHAC hyperparameters"):
        config_for("hopper", {"horizn": 16})
    with pytest.raises(ValueError, match="differentiable task"):
        config_for("walker-walk", {})


def test_state_round_trip_continues_identically():
    cfg = config_for("cartpole", TINY)
    a = SHAC("cartpole", cfg, seed=0, threads=1)
    a.iterate(10)
    state = a.state_dict()
    a.iterate(10)
    b = SHAC("cartpole", cfg, seed=99, threads=1)
    b.load_state_dict(state)
    b.iterate(10)
    for pa, pb in zip(a.actor.parameters(), b.actor.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    torch.testing.assert_close(a.env.qpos, b.env.qpos, rtol=0, atol=0)
    assert a.iteration == b.iteration == 2


def train_cli(out, steps):
    return run(
        [
            "pwm-bench",
            "train",
            "--algo",
            "shac",
            "--task",
            "cartpole",
            "--seed",
            "0",
            "--out",
            str(out),
            "--steps",
            str(steps),
            "--eval-every",
            "256",
            "--eval-episodes",
            "1",
            "--threads",
            "2",
            "--hparams",
            json.dumps(TINY),
        ],
        cwd=PROJECT_ROOT,
        timeout=300,
    )


def test_cli_run_writes_eval_csv_dataset_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    first = train_cli(out, 256)  # 2 iterations of 8 envs x 16 steps
    assert first.returncode == 0, first.stdout + first.stderr
    assert (out / "checkpoint.pt").exists()
    rows = pd.read_csv(out / "eval.csv")
    assert rows["step"].tolist() == [0, 256] and (rows["algo"] == "shac").all()
    assert "[progress]" in first.stdout
    data = load_chunk(out / "rollouts.pt")
    assert data["obs"].shape[1:] == (9, 5) and data["action"].shape[1:] == (9, 1)
    assert torch.isnan(data["action"][:, 0]).all() and torch.isfinite(data["action"][:, 1:]).all()
    assert data["action"][:, 1:].abs().max() <= 1.0
    # a longer budget on the same directory resumes from the checkpoint instead of starting over
    # (in-process, to spare a second interpreter start-up)
    (out / "eval.csv").unlink()
    settings = RunSettings(
        algo="shac",
        task="cartpole",
        seed=0,
        out_dir=str(out),
        steps=512,
        eval_every=256,
        eval_episodes=1,
        threads=2,
        hparams=dict(TINY),
    )
    shac.train(Run(settings))
    second = capsys.readouterr().out
    assert "resuming from" in second and "iteration 3/4" in second and "iteration 1/4" not in second
    rows = pd.read_csv(out / "eval.csv")
    assert rows["step"].tolist() == [0, 256, 512]
    assert len(load_chunk(out / "rollouts.pt")["obs"]) > len(data["obs"])

"""Multitask PWM runs end to end on the reference mt30 checkpoint and data chunk: the CLI writes
eval.csv, and a run killed after a checkpoint resumes to the rows of an uninterrupted run."""

import subprocess
import sys

import pandas as pd
import pytest
import torch

from helpers import kill_after_checkpoint, run_to_end, subprocess_env
from pwm.agent import load_hparams

COMPARED = ["algo", "task", "seed", "step", "env_steps", "episode_reward", "episode_success"]
TINY = ["batch_size=32", "horizon=4", "critic_iterations=2", "critic_batches=2", "progress_every=1"]


def command(reference_dir, data_dir, out, steps, eval_every, task="cartpole-swingup"):
    sets = [f"world_model={reference_dir / 'tdmpc2' / 'mt30-size1.pt'}", f"data_dir={data_dir}", *TINY]
    cmd = [
        sys.executable,
        "-m",
        "pwm.cli",
        "train",
        "--algo",
        "pwm",
        "--task",
        task,
        "--seed",
        "5",
        "--steps",
        str(steps),
        "--eval-every",
        str(eval_every),
        "--eval-episodes",
        "1",
        "--out",
        str(out),
    ]
    for s in sets:
        cmd += ["--set", s]
    return cmd


@pytest.fixture
def data_dir(reference_dir, tmp_path):
    """A dataset directory holding (a link to) the reference chunk: never a copy in the project."""
    d = tmp_path / "data"
    d.mkdir()
    (d / "chunk_0.pt").symlink_to(reference_dir / "tdmpc2" / "mt30-sample-chunk_0.pt")
    return d


def test_smoke_run_on_reference_checkpoint_writes_eval_csv(reference_dir, data_dir, tmp_path):
    out = tmp_path / "run"
    stdout = run_to_end(command(reference_dir, data_dir, out, steps=3, eval_every=2, task="walker-walk"))
    assert "task 1 of mt30" in stdout
    rows = pd.read_csv(out / "eval.csv")
    assert rows.step.tolist() == [0, 2, 3]
    assert (rows.env_steps == 0).all()  # multitask PWM never steps an env to learn
    assert rows.episode_reward.notna().all() and (rows.episode_reward >= 0).all()
    assert (rows.algo == "pwm").all() and (rows.task == "walker-walk").all()


def test_killed_run_resumes_to_the_same_rows(reference_dir, data_dir, tmp_path):
    reference = tmp_path / "uninterrupted"
    run_to_end(command(reference_dir, data_dir, reference, steps=8, eval_every=2))

    out = tmp_path / "killed"
    cmd = command(reference_dir, data_dir, out, steps=8, eval_every=2)
    killed_at = kill_after_checkpoint(cmd, out / "checkpoint.pt", 2)
    assert not (out / "eval.csv").exists() and killed_at < 8

    stdout = run_to_end(cmd)
    assert f"resuming from {out / 'checkpoint.pt'} at step {killed_at}" in stdout
    resumed, expected = pd.read_csv(out / "eval.csv"), pd.read_csv(reference / "eval.csv")
    assert resumed.step.tolist() == [0, 2, 4, 6, 8]
    pd.testing.assert_frame_equal(resumed[COMPARED], expected[COMPARED])
    ckpt_a = torch.load(out / "checkpoint.pt", weights_only=False)["payload"]["learner"]
    ckpt_b = torch.load(reference / "checkpoint.pt", weights_only=False)["payload"]["learner"]
    for key, value in ckpt_b["actor"].items():  # the policies themselves are identical
        torch.testing.assert_close(ckpt_a["actor"][key], value, rtol=0, atol=0)


def test_hyperparameters_are_checked():
    with pytest.raises(ValueError, match="unknown pwm hyperparameters"):
        load_hparams({"horizn": 3})
    assert load_hparams({"horizon": 3}).horizon == 3


def test_missing_world_model_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pwm.cli",
            "train",
            "--algo",
            "pwm",
            "--task",
            "walker-walk",
            "--seed",
            "1",
            "--steps",
            "2",
            "--eval-every",
            "1",
            "--out",
            str(tmp_path / "r"),
        ],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3
    assert "world_model" in result.stderr and "data_dir" in result.stderr

"""Runs are deterministic, and a run killed with SIGKILL resumes to the rows it would have had."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from helpers import checkpoint_step, kill_after_checkpoint, run_to_end, subprocess_env

RUNS = {
    "sac": (
        [
            "--task",
            "cartpole-balance",
            "--steps",
            "1200",
            "--eval-every",
            "400",
            "--set",
            "learning_starts=100",
            "--set",
            "batch_size=64",
        ],
        400,
    ),
    "ppo": (
        [
            "--task",
            "cartpole-swingup",
            "--steps",
            "1024",
            "--eval-every",
            "256",
            "--set",
            "n_steps=256",
            "--set",
            "batch_size=64",
            "--set",
            "n_epochs=2",
        ],
        512,
    ),
    # TD-MPC2 checkpoints at episode ends: Meta-World's 100-step episodes keep this short.
    "tdmpc2": (
        [
            "--task",
            "mw-reach",
            "--steps",
            "300",
            "--eval-every",
            "100",
            "--hparams",
            json.dumps(
                dict(
                    model_size=1,
                    seed_steps=20,
                    batch_size=8,
                    num_samples=16,
                    num_elites=4,
                    num_pi_trajs=2,
                    iterations=1,
                )
            ),
        ],
        100,
    ),
    "shac": (
        [
            "--task",
            "cartpole",
            "--steps",
            "768",
            "--eval-every",
            "256",
            "--hparams",
            json.dumps({"num_envs": 8, "horizon": 16, "critic_iterations": 2, "dataset_envs": 4, "dataset_segment": 8}),
        ],
        256,
    ),
}
COMPARED = ["algo", "task", "seed", "step", "env_steps", "episode_reward", "episode_success"]


def command(algo, out):
    args, _ = RUNS[algo]
    return [
        sys.executable,
        "-m",
        "pwm.cli",
        "train",
        "--algo",
        algo,
        "--seed",
        "3",
        "--eval-episodes",
        "1",
        *args,
        "--out",
        str(out),
    ]


# TD-MPC2 cannot pickle its Meta-World env: it checkpoints between episodes and seeds every training
# episode from (run seed, episode index), so a killed run replays the same episode stream.
@pytest.mark.parametrize("algo", ["sac", "ppo", "tdmpc2", "shac"])
def test_killed_run_resumes_to_the_same_rows(tmp_path, algo):
    reference = tmp_path / "uninterrupted"
    run_to_end(command(algo, reference))

    out = tmp_path / "killed"
    cmd = command(algo, out)
    killed_at = kill_after_checkpoint(cmd, out / "checkpoint.pt", RUNS[algo][1])
    assert not (out / "eval.csv").exists()  # eval.csv is written only by a finished run

    stdout = run_to_end(cmd)
    assert f"resuming from {out / 'checkpoint.pt'} at step {killed_at}" in stdout
    resumed = pd.read_csv(out / "eval.csv")
    expected = pd.read_csv(reference / "eval.csv")
    assert resumed.step.tolist() == expected.step.tolist()  # no gaps, no duplicates
    pd.testing.assert_frame_equal(resumed[COMPARED], expected[COMPARED])
    assert (resumed.wall_time_s.diff().dropna() > 0).all()


@pytest.mark.parametrize("algo", ["ppo", "tdmpc2", "shac"])
def test_same_seed_same_rows(tmp_path, algo):
    for name in ["a", "b"]:
        run_to_end(command(algo, tmp_path / name))
    a, b = (pd.read_csv(tmp_path / name / "eval.csv") for name in ["a", "b"])
    pd.testing.assert_frame_equal(a[COMPARED], b[COMPARED])
    assert a.episode_reward.nunique() > 1


def test_divergence_stops_with_clear_error_and_keeps_checkpoint(tmp_path):
    out = tmp_path / "diverged"
    cmd = command("ppo", out) + ["--set", "learning_rate=1e12", "--set", "max_grad_norm=1e30"]
    result = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 4, result.stdout + result.stderr  # divergence, not bad input (3)
    assert "ppo diverged on cartpole-swingup (seed 3)" in result.stdout + result.stderr
    assert "invalid policy distribution" in result.stderr or "non-finite parameters" in result.stderr
    assert "the last good checkpoint (step 0) is kept" in result.stderr
    assert checkpoint_step(out / "checkpoint.pt") >= 0
    assert not (out / "eval.csv").exists()


def test_checkpoint_of_other_settings_is_set_aside_not_resumed(tmp_path, capsys):
    """Snakemake reruns a job whose params changed; the job must not continue the old run."""
    from pwm.run import Run, RunSettings

    def settings(**hparams):
        return RunSettings(
            algo="random_policy",
            task="cartpole-balance",
            seed=1,
            out_dir=str(tmp_path),
            steps=10,
            eval_every=5,
            eval_episodes=1,
            hparams=hparams,
        )

    first = Run(settings(mask_actions=False))
    first.rows = [dict(step=0)]
    first.save_checkpoint(5, {"weights": 1})
    assert Run(settings(mask_actions=False)).load_checkpoint() == {"weights": 1}  # same settings: resume

    rerun = Run(settings(mask_actions=True))
    assert rerun.load_checkpoint() is None and rerun.rows == [] and rerun.next_eval_step() == 0
    assert not (tmp_path / "checkpoint.pt").exists()
    assert (tmp_path / "checkpoint.stale.pt").exists()
    out = capsys.readouterr()
    assert "hparams: {'mask_actions': False} -> {'mask_actions': True}" in out.out + out.err

    longer = Run(
        RunSettings(
            algo="random_policy",
            task="cartpole-balance",
            seed=1,
            out_dir=str(tmp_path / "b"),
            steps=10,
            eval_every=5,
            eval_episodes=1,
        )
    )
    longer.save_checkpoint(5, {})
    budget = Run(
        RunSettings(
            algo="random_policy",
            task="cartpole-balance",
            seed=1,
            out_dir=str(tmp_path / "b"),
            steps=20,
            eval_every=5,
            eval_episodes=1,
        )
    )
    assert budget.load_checkpoint() == {}  # a larger budget continues the run
    schedule = Run(
        RunSettings(
            algo="random_policy",
            task="cartpole-balance",
            seed=1,
            out_dir=str(tmp_path / "b"),
            steps=20,
            eval_every=4,
            eval_episodes=1,
        )
    )
    assert schedule.load_checkpoint() is None  # another evaluation schedule starts over

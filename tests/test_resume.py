"""A SAC run killed with SIGKILL resumes from its checkpoint and completes its evaluation log."""
import signal
import subprocess
import sys
import time

import pandas as pd
import torch

from helpers import subprocess_env

ARGS = ["--algo", "sac", "--task", "cartpole-balance", "--seed", "3", "--steps", "1200",
        "--eval-every", "400", "--eval-episodes", "1", "--set", "learning_starts=100"]


def checkpoint_step(path):
    try:
        return torch.load(path, weights_only=False)["step"]
    except (FileNotFoundError, EOFError, RuntimeError):
        return -1


def test_killed_sac_run_resumes(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "pwm.cli", "train", *ARGS, "--out", str(out)]
    proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while checkpoint_step(out / "checkpoint.pt") < 400:
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline, "no checkpoint at step >= 400 within 300 s"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "eval.csv").exists()  # eval.csv is written only by a finished run
    before = pd.read_csv(out / "progress.csv")
    killed_at = checkpoint_step(out / "checkpoint.pt")

    result = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"resuming from {out / 'checkpoint.pt'} at step {killed_at}" in result.stdout
    evals = pd.read_csv(out / "eval.csv")
    assert evals.step.tolist() == [0, 400, 800, 1200]  # no gaps, no duplicates
    done_before = before[before.step <= killed_at]
    pd.testing.assert_frame_equal(evals.iloc[:len(done_before)].reset_index(drop=True),
                                  done_before.reset_index(drop=True))
    assert (evals.wall_time_s.diff().dropna() > 0).all()
    assert checkpoint_step(out / "checkpoint.pt") >= 1200

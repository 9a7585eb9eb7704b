"""SAC runs export their replay buffer as a TD-MPC2 dataset chunk (world-model data)."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer

from baselines.sb3 import replay_episodes
from helpers import subprocess_env
from pwm.data import load_chunk, validate_chunk
from pwm.data.build import build_dataset


def filled_buffer(size: int, transitions: int, done_at: set[int]) -> ReplayBuffer:
    """Transition t has obs (t, 0, 0), next obs (t + 0.5, 0, 0), action (t, -t), reward t."""
    buffer = ReplayBuffer(
        size, spaces.Box(-np.inf, np.inf, (3,)), spaces.Box(-1, 1, (2,)), device="cpu", handle_timeout_termination=False
    )
    for t in range(transitions):
        buffer.add(
            np.array([[t, 0, 0]], dtype=np.float32),
            np.array([[t + 0.5, 0, 0]], dtype=np.float32),
            np.array([[t, -t]], dtype=np.float32),
            np.array([float(t)]),
            np.array([t in done_at]),
            [{}],
        )
    return buffer


def test_complete_episodes_in_order_with_the_terminal_observation():
    episodes = replay_episodes(filled_buffer(10, 7, {2, 5}))
    assert len(episodes) == 2  # transition 6 starts an unfinished episode
    (obs0, act0, rew0), (obs1, act1, rew1) = episodes
    np.testing.assert_array_equal(obs0[:, 0], [0, 1, 2, 2.5])
    np.testing.assert_array_equal(act0, [[0, 0], [1, -1], [2, -2]])
    np.testing.assert_array_equal(rew0, [0, 1, 2])
    np.testing.assert_array_equal(obs1[:, 0], [3, 4, 5, 5.5])
    np.testing.assert_array_equal(rew1, [3, 4, 5])


def test_wrapped_buffer_drops_the_overwritten_and_the_unfinished_episode():
    buffer = filled_buffer(10, 13, {3, 7, 11})  # holds transitions 3..12; 0..2 were overwritten
    assert buffer.full and buffer.pos == 3
    episodes = replay_episodes(buffer)
    assert [list(rew) for _, _, rew in episodes] == [[4, 5, 6, 7], [8, 9, 10, 11]]
    assert episodes[1][0][-1, 0] == 11.5


def test_exactly_full_buffer_keeps_its_first_episode():
    buffer = filled_buffer(8, 8, {3, 7})  # full, pos back at 0, nothing overwritten
    assert buffer.full and buffer.pos == 0
    assert [list(rew) for _, _, rew in replay_episodes(buffer, added=8)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [list(rew) for _, _, rew in replay_episodes(buffer)] == [[4, 5, 6, 7]]  # unknown: assume overwritten


def test_sac_run_exports_a_chunk_that_build_dataset_accepts(tmp_path):
    run = tmp_path / "sac"
    cmd = [
        sys.executable,
        "-m",
        "pwm.cli",
        "train",
        "--algo",
        "sac",
        "--task",
        "cartpole-balance",
        "--seed",
        "1",
        "--steps",
        "1000",
        "--eval-every",
        "1000",
        "--eval-episodes",
        "1",
        "--out",
        str(run),
        "--set",
        "learning_starts=900",
        "--set",
        "batch_size=32",
    ]
    subprocess.run(cmd, check=True, capture_output=True, env=subprocess_env(), timeout=600)
    chunk = load_chunk(run / "dataset" / "chunk_0.pt", mmap=False)
    validate_chunk(chunk, "sac export")
    # 1000 steps fill SAC's buffer (size = steps) exactly: both 500-step episodes are complete
    assert tuple(chunk["obs"].shape) == (2, 501, 5)
    assert tuple(chunk["action"].shape) == (2, 501, 1)
    assert torch.isnan(chunk["action"][:, 0]).all() and torch.isnan(chunk["reward"][:, 0]).all()
    assert chunk["action"][:, 1:].abs().max() <= 1
    rewards = chunk["reward"][:, 1:]
    assert rewards.min() >= 0 and rewards.max() <= 2  # action repeat 2, dm_control rewards in [0, 1]
    # consecutive rows chain: the first observation of episode 2 is a reset, not episode 1's end
    assert not torch.equal(chunk["obs"][1, 0], chunk["obs"][0, -1])
    [merged] = build_dataset([run], "mt30", tmp_path / "data")
    data = load_chunk(merged, mmap=False)
    assert tuple(data["obs"].shape) == (2, 501, 24) and int(data["task"][0, 0]) == 8  # cartpole-balance in MT30


def test_export_needs_a_boolean(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "pwm.cli",
        "train",
        "--algo",
        "sac",
        "--task",
        "cartpole-balance",
        "--seed",
        "1",
        "--steps",
        "10",
        "--eval-every",
        "10",
        "--out",
        str(tmp_path / "r"),
        "--set",
        "export_dataset=maybe",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert proc.returncode != 0 and "export_dataset='maybe' is a string, expected true/false" in proc.stderr


@pytest.mark.parametrize("algo", ["ppo"])
def test_on_policy_algorithms_refuse_to_export(tmp_path, algo):
    cmd = [
        sys.executable,
        "-m",
        "pwm.cli",
        "train",
        "--algo",
        algo,
        "--task",
        "cartpole-balance",
        "--seed",
        "1",
        "--steps",
        "10",
        "--eval-every",
        "10",
        "--out",
        str(tmp_path / "r"),
        "--set",
        "export_dataset=true",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert (
        proc.returncode != 0 and f"unknown {algo} hyperparameters ['export_dataset']" in proc.stderr
    )  # refused before training

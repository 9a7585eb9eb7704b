"""Dataset chunks load lazily and validate; sampled windows stay inside episodes and skip the dummy step."""

import subprocess
import sys

import pytest
import torch
from tensordict import TensorDict

from pwm.data import DatasetError, SliceSampler, load_chunk, load_chunks, save_chunk, select_tasks


def synthetic_chunk(episodes=5, length=9, obs_dim=4, action_dim=2, tasks=None):
    """obs encodes (episode row, step); action/reward of step t encode t; row 0 dummies are NaN."""
    t = torch.arange(length, dtype=torch.float32)
    rows = torch.arange(episodes, dtype=torch.float32)
    obs = torch.zeros(episodes, length, obs_dim)
    obs[..., 0], obs[..., 1] = rows[:, None], t[None]
    action = t[None, :, None].repeat(episodes, 1, action_dim) + 100 * rows[:, None, None]
    reward = t[None].repeat(episodes, 1) + 100 * rows[:, None]
    action[:, 0], reward[:, 0] = float("nan"), float("nan")
    task = torch.tensor(tasks if tasks is not None else [i % 3 for i in range(episodes)], dtype=torch.int32)
    return TensorDict(
        obs=obs, action=action, reward=reward, task=task[:, None].repeat(1, length), batch_size=[episodes, length]
    )


def bitwise_equal(a, b):
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and torch.equal(
            a.view(torch.uint8) if a.dtype == torch.bool else a.contiguous().view(-1).view(torch.uint8),
            b.contiguous().view(-1).view(torch.uint8),
        )
    )


def test_reference_chunk_loads_memory_mapped_and_samples(reference_dir):
    path = reference_dir / "tdmpc2" / "mt30-sample-chunk_0.pt"
    chunk = load_chunk(path, num_tasks=30)
    assert chunk.batch_size == torch.Size([6, 501])
    assert chunk["obs"].shape == (6, 501, 24) and chunk["task"].dtype == torch.int32
    assert chunk["task"][:, 0].tolist() == [1, 1, 1, 10, 10, 10]
    walker = select_tasks(chunk, [1])
    assert walker.batch_size[0] == 3 and (walker["task"] == 1).all()
    batch = SliceSampler(chunk, horizon=3, batch_size=256, tasks=[10], seed=0).sample()
    assert batch.obs.shape == (4, 256, 24) and batch.action.shape == (3, 256, 6) and batch.reward.shape == (3, 256, 1)
    assert (batch.task == 10).all() and torch.isfinite(batch.action).all() and torch.isfinite(batch.reward).all()
    # cartpole-swingup has 1 real action dim: padding is zero in the data
    assert (batch.action[..., 1:] == 0).all() and (batch.obs[..., 5:] == 0).all()


def test_written_chunk_loads_back_identically(reference_dir, tmp_path):
    chunk = load_chunk(reference_dir / "tdmpc2" / "mt30-sample-chunk_0.pt")
    save_chunk(chunk, tmp_path / "chunk_0.pt")
    again = load_chunk(tmp_path / "chunk_0.pt")
    assert sorted(again.keys()) == sorted(chunk.keys()) and again.batch_size == chunk.batch_size
    for key in chunk.keys():
        assert bitwise_equal(again[key], chunk[key]), key  # NaN dummies included


def test_synthetic_chunk_round_trip_and_directory_loading(tmp_path):
    save_chunk(synthetic_chunk(tasks=[0, 0, 1, 1, 2]), tmp_path / "chunk_1.pt")
    save_chunk(dict(synthetic_chunk(episodes=2, tasks=[2, 2]).items()), tmp_path / "chunk_0.pt")
    chunks = load_chunks(tmp_path)
    assert [c.batch_size[0] for c in chunks] == [2, 5]  # sorted file order
    assert bitwise_equal(chunks[1]["obs"], synthetic_chunk(tasks=[0, 0, 1, 1, 2])["obs"])
    assert SliceSampler(chunks, horizon=3, batch_size=8, tasks=[2]).num_episodes == 3


@pytest.mark.parametrize("horizon", [1, 3, 7])
def test_windows_stay_in_one_episode_and_never_use_dummy_step(horizon):
    chunks = [synthetic_chunk(), synthetic_chunk(episodes=3, length=12, tasks=[5, 5, 6])]
    sampler = SliceSampler(chunks, horizon=horizon, batch_size=512, seed=1)
    seen_starts = set()
    for _ in range(4):
        b = sampler.sample()
        row, step = b.obs[..., 0], b.obs[..., 1]
        assert (row == row[0]).all(), "window crosses an episode boundary"
        assert torch.equal(step - step[0], torch.arange(horizon + 1, dtype=torch.float32)[:, None].expand_as(step))
        # action/reward k is the one that led to obs k+1 (never the NaN dummy at step 0)
        assert torch.isfinite(b.action).all() and torch.isfinite(b.reward).all()
        assert torch.equal(b.action[..., 0] % 100, step[1:]) and torch.equal(b.reward[..., 0] % 100, step[1:])
        assert torch.equal(b.action[..., 0] // 100, row[1:]) and (b.terminated == 0).all()
        seen_starts.update(step[0].long().tolist())
    assert seen_starts == set(range(12 - horizon))  # every valid start in the longer chunk is reachable


def test_window_longer_than_episodes_is_rejected():
    with pytest.raises(ValueError, match="no episode has 10 steps"):
        SliceSampler(synthetic_chunk(length=9), horizon=9, batch_size=4)


def broken(mutate):
    chunk = dict(synthetic_chunk().items())
    mutate(chunk)
    return chunk


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda c: c.pop("reward"), "missing field 'reward'"),
        (lambda c: c.__setitem__("task", c["task"].float()), "field 'task' has dtype torch.float32"),
        (lambda c: c.__setitem__("obs", c["obs"].long()), "field 'obs' has dtype torch.int64"),
        (lambda c: c.__setitem__("action", c["action"][:, :-1]), "ragged lengths: field 'action'"),
        (lambda c: c.__setitem__("reward", c["reward"][:, :, None]), "field 'reward' has shape"),
        (lambda c: c["task"].__setitem__((slice(None), slice(None)), 7), "field 'task' has id 7, out of range"),
        (lambda c: c["task"].__setitem__((2, 4), 1), "field 'task' changes within episode row 2"),
        (lambda c: c["obs"].__setitem__((3, 5, 1), float("nan")), "field 'obs' has NaN or inf \\(episode row 3\\)"),
        (lambda c: c["reward"].__setitem__((4, 2), float("nan")), "field 'reward' has NaN after the dummy first step"),
    ],
)
def test_invalid_chunks_fail_naming_file_and_field(tmp_path, mutate, message):
    path = tmp_path / "bad_chunk.pt"
    torch.save(broken(mutate), path)
    with pytest.raises(DatasetError, match=r"bad_chunk\.pt: " + message):
        load_chunk(path, num_tasks=3)


def test_truncated_chunk_fails_clearly(tmp_path):
    save_chunk(synthetic_chunk(), tmp_path / "full.pt")
    data = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"cut\.pt: cannot read the chunk"):
        load_chunk(tmp_path / "cut.pt")


RSS_PROBE = """
import sys, torch
from pwm.data import load_chunk
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
before = rss_mb()
mapped = load_chunk(sys.argv[1], check_values=False)
after_mmap = rss_mb()
in_ram = load_chunk(sys.argv[1], mmap=False, check_values=False)
after_read = rss_mb()
assert torch.equal(mapped["obs"][5, 7], in_ram["obs"][5, 7])
print(after_mmap - before, after_read - before)
"""


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_chunk_is_memory_mapped_not_read_into_ram(tmp_path):
    # Measured in a fresh process: in the test process, memory freed by earlier tests is reused
    # and hides the RSS growth of the normal read.
    episodes, length = 128, 501  # ~62 MB of observations
    chunk = synthetic_chunk(episodes=episodes, length=length, obs_dim=240, tasks=[0] * episodes)
    save_chunk(chunk, tmp_path / "chunk_0.pt")
    out = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(tmp_path / "chunk_0.pt")], check=True, capture_output=True, text=True
    ).stdout.split()
    mapped_mb, read_mb = float(out[0]), float(out[1])
    assert mapped_mb < 16
    assert read_mb > 50  # the same file read normally does occupy RAM

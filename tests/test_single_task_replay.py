"""PWM's single-task replay: every finished episode reaches the world model's training windows
(short ones padded and masked), and the sampler is rebuilt only when rows arrive."""

import torch

from pwm.agent import load_hparams
from pwm.data.chunks import load_chunks
from pwm.data.rollouts import RolloutRecorder, episode_row_starts
from pwm.running_stats import RunningMeanStd
from pwm.singletask_pwm import ReplayWindows
from pwm.world_model import WorldModel
from pwm.world_model_training import single_task_config, world_model_loss

OBS, ACT = 3, 2


def record_episode(recorder: RolloutRecorder, length: int, first: float, terminated: bool) -> None:
    """``length`` transitions of one env whose observation t is ``first + t`` in every dim; the
    last one ends the episode, and the env resets to observation 1000."""
    for t in range(length):
        done = torch.tensor([t == length - 1])
        obs_next = torch.full((1, OBS), first + t + 1.0)
        recorder.record(
            torch.full((1, ACT), 0.5),
            torch.tensor([first + t]),
            torch.full((1, OBS), 1000.0),
            obs_next,
            done,
            done & terminated,
        )


def new_recorder(segment=64, first=0.0) -> RolloutRecorder:
    recorder = RolloutRecorder(1, segment)
    recorder.start(torch.full((1, OBS), first))
    return recorder


def test_episode_rows_cover_every_transition():
    assert episode_row_starts(30, 64) == [0]
    assert episode_row_starts(200, 100) == [0, 100]
    assert episode_row_starts(250, 100) == [0, 100, 150]  # the tail is the last 100 transitions
    assert episode_row_starts(0, 100) == []
    for length in (1, 63, 64, 65, 129, 1000):
        covered = set()
        for s in episode_row_starts(length, 64):
            covered |= set(range(s, min(s + 64, length)))
        assert covered == set(range(length))


def test_a_30_step_episode_reaches_the_replay_and_is_sampled():
    recorder = new_recorder(segment=64)
    record_episode(recorder, 30, first=0.0, terminated=True)
    assert recorder.num_rows == 1
    valid = recorder.rows["valid"][0]
    assert valid.tolist() == [True] * 31 + [False] * 34
    assert recorder.rows["terminated"][0].nonzero().flatten().tolist() == [30]

    replay = ReplayWindows(
        [],
        recorder,
        horizon=16,
        batch_size=256,
        capacity_rows=10,
        generator=torch.Generator().manual_seed(0),
        device="cpu",
    )
    seen = set()
    for _ in range(20):
        batch = replay.sample()
        assert batch.obs.shape == (17, 256, OBS) and batch.valid.shape == (16, 256, 1)
        assert bool((batch.valid == 1).all())  # 30 >= 16: every window lies inside the episode
        start = batch.obs[0, :, 0]
        assert torch.equal(batch.obs[:, :, 0], start + torch.arange(17.0).unsqueeze(1))  # one episode, in order
        torch.testing.assert_close(batch.reward[:, :, 0], start + torch.arange(16.0).unsqueeze(1))
        seen |= set(start.long().tolist())
    assert seen == set(range(15))  # every window start 0..30-16 is drawn: all 30 transitions are used


def test_an_episode_shorter_than_the_horizon_is_padded_and_masked():
    recorder = new_recorder(segment=64, first=100.0)
    record_episode(recorder, 10, first=100.0, terminated=True)
    replay = ReplayWindows(
        [],
        recorder,
        horizon=16,
        batch_size=8,
        capacity_rows=4,
        generator=torch.Generator().manual_seed(0),
        device="cpu",
    )
    batch = replay.sample()
    assert batch.valid[:, 0, 0].tolist() == [1.0] * 10 + [0.0] * 6
    assert torch.equal(batch.obs[:11, 0, 0], 100.0 + torch.arange(11.0))
    assert torch.isfinite(batch.action).all() and torch.isfinite(batch.reward).all()

    torch.manual_seed(0)
    wm = WorldModel(
        single_task_config(OBS, ACT, load_hparams({"wm_latent_dim": 16, "wm_enc_dim": 16, "wm_mlp_dim": 16}))
    )
    rms = RunningMeanStd((1,))
    rms.update(batch.reward[batch.valid > 0].reshape(-1, 1))
    loss, _ = world_model_loss(wm, batch, rms, gamma=0.9)
    # By hand: only the 10 real transitions contribute; the means keep their full denominators.
    H, B, gamma = 16, 8, 0.9
    r = ((batch.reward[..., 0] - rms.mean.float()) / torch.sqrt(rms.var.float() + 1e-5)).clamp(-5, 5)
    z, dyn, rew = wm.encode(batch.obs[0]), 0.0, 0.0
    for t in range(10):
        rew = rew + gamma**t * ((wm.reward(z, batch.action[t])[..., 0] - r[t]) ** 2).sum() / B / H
        z = wm.next(z, batch.action[t])
        dyn = dyn + gamma**t * ((z - wm.encode(batch.obs[t + 1]).detach()) ** 2).mean(-1).sum() / B
    torch.testing.assert_close(loss, (dyn + rew) / H)


def test_the_sampler_is_rebuilt_only_when_rows_arrive():
    recorder = new_recorder(segment=32)
    record_episode(recorder, 40, first=0.0, terminated=False)  # 2 rows
    replay = ReplayWindows(
        [],
        recorder,
        horizon=4,
        batch_size=16,
        capacity_rows=3,
        generator=torch.Generator().manual_seed(0),
        device="cpu",
    )
    for _ in range(5):
        replay.sample()
    assert replay.rebuilds == 1 and replay.filled == 2

    recorder.start(torch.full((1, OBS), 500.0))
    for _ in range(7):  # steps of an unfinished episode cut no rows: no rebuild
        recorder.record(
            torch.zeros(1, ACT),
            torch.zeros(1),
            torch.zeros(1, OBS),
            torch.full((1, OBS), 500.0),
            torch.tensor([False]),
            torch.tensor([False]),
        )
        replay.sample()
    assert replay.rebuilds == 1

    record_episode(recorder, 5, first=700.0, terminated=True)  # the episode ends: one row arrives
    replay.sample()
    replay.sample()
    assert replay.rebuilds == 2 and replay.filled == 3

    record_episode(recorder, 5, first=900.0, terminated=True)  # ring of 3 rows: the oldest is replaced
    batch = replay.sample()
    assert replay.rebuilds == 3 and replay.filled == 3
    starts = sorted(replay.ring["obs"][:, 0, 0].tolist())
    # Kept: episode 1's tail row (from step 8), episode 2 (began at 500) and episode 3, which began
    # at the reset observation (1000) that ended episode 2; episode 1's first row was replaced.
    assert starts == [8.0, 500.0, 1000.0], starts
    assert batch.obs.shape == (5, 16, OBS)


def test_replay_state_round_trip_keeps_the_ring(tmp_path):
    recorder = new_recorder(segment=8)
    record_episode(recorder, 20, first=0.0, terminated=True)
    replay = ReplayWindows(
        [], recorder, horizon=4, batch_size=4, capacity_rows=2, generator=torch.Generator().manual_seed(0), device="cpu"
    )
    replay.sample()
    other = ReplayWindows(
        [],
        new_recorder(segment=8),
        horizon=4,
        batch_size=4,
        capacity_rows=2,
        generator=torch.Generator().manual_seed(0),
        device="cpu",
    )
    other.load_state_dict(replay.state_dict())
    assert other.filled == replay.filled == 2 and other.next == replay.next
    for key in ("obs", "action", "reward", "valid", "terminated"):
        torch.testing.assert_close(other.ring[key], replay.ring[key], equal_nan=True, rtol=0, atol=0)


def test_saved_rollouts_keep_short_episodes_and_load_as_a_chunk(tmp_path):
    recorder = new_recorder(segment=16)
    record_episode(recorder, 5, first=0.0, terminated=True)
    recorder.start(torch.full((1, OBS), 50.0))
    record_episode(recorder, 40, first=50.0, terminated=False)
    assert recorder.save(tmp_path / "rollouts.pt") == 1 + 3  # 5 -> 1 padded row; 40 -> rows at 0, 16, 24
    (chunk,) = load_chunks(tmp_path / "rollouts.pt")
    assert chunk["valid"].sum(1).tolist() == [6, 17, 17, 17]
    assert chunk["obs"][1:, 0, 0].tolist() == [50.0, 66.0, 74.0]

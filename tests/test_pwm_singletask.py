"""Single-task PWM on a differentiable task: PWM's world-model loss against its formula, and a
short run (offline pretraining, lockstep envs, online fine-tuning) that resumes exactly after a kill."""

import subprocess
import sys

import pandas as pd
import pytest
import torch

from helpers import kill_after_checkpoint, run_to_end
from pwm.agent import load_hparams
from pwm.data.rollouts import RolloutRecorder
from pwm.data.sampler import Batch
from pwm.envs.diff import DiffEnv
from pwm.running_stats import RunningMeanStd
from pwm.singletask_pretrain import load_world_model, save_world_model
from pwm.world_model import WorldModel
from pwm.world_model_training import WorldModelTrainer, single_task_config, world_model_loss

COMPARED = ["algo", "task", "seed", "step", "env_steps", "episode_reward", "episode_success"]
TINY = [
    "num_envs=4",
    "horizon=4",
    "wm_latent_dim=16",
    "wm_enc_dim=16",
    "wm_mlp_dim=16",
    "pretrain_steps=5",
    "wm_segment=8",
    "wm_iterations=2",
    "wm_batch_size=8",
    "critic_iterations=1",
    "progress_every=1",
]


def tiny_model():
    torch.manual_seed(0)
    cfg = load_hparams({"wm_latent_dim": 16, "wm_enc_dim": 16, "wm_mlp_dim": 16})
    return WorldModel(single_task_config(5, 1, cfg))


def random_batch(H=4, B=6):
    g = torch.Generator().manual_seed(1)
    return Batch(
        obs=torch.randn(H + 1, B, 5, generator=g),
        action=torch.rand(H, B, 1, generator=g) * 2 - 1,
        reward=torch.randn(H, B, 1, generator=g) * 3 + 1,
        terminated=torch.zeros(H, B, 1),
        task=torch.zeros(B, dtype=torch.long),
    )


def test_world_model_loss_is_the_reference_formula_and_training_reduces_it():
    wm, batch = tiny_model(), random_batch()
    rms = RunningMeanStd((1,))
    rms.update(batch.reward.reshape(-1, 1))
    H, gamma = 4, 0.9
    r = ((batch.reward[..., 0] - rms.mean.float()) / torch.sqrt(rms.var.float() + 1e-5)).clamp(-5, 5)
    z, dyn, rew = wm.encode(batch.obs[0]), 0.0, 0.0
    for t in range(H):
        rew = rew + gamma**t * ((wm.reward(z, batch.action[t])[..., 0] - r[t]) ** 2).mean() / H
        z = wm.next(z, batch.action[t])
        dyn = dyn + gamma**t * ((z - wm.encode(batch.obs[t + 1]).detach()) ** 2).mean()
    loss, info = world_model_loss(wm, batch, rms, gamma)
    torch.testing.assert_close(loss, (dyn + rew) / H)
    assert wm.cfg.num_bins == 0 and wm.cfg.task_dim == 0  # scalar reward, no task embedding

    trainer = WorldModelTrainer(wm, rms, lr=3e-3, grad_norm=20.0, gamma=gamma)
    first = trainer.step(batch)["wm_loss"]
    for _ in range(30):
        last = trainer.step(batch)["wm_loss"]
    assert last < 0.75 * first


def offline_chunk(path, steps=120, n=4):
    """Random-action rollouts of the cartpole task, recorded as SHAC records its data."""
    env = DiffEnv("cartpole", n, seed=0)
    rec = RolloutRecorder(n, 16)
    rec.start(env.reset())
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(steps):
            a = torch.rand(n, env.act_dim, generator=g) * 2 - 1
            obs, r, d, info = env.step(a)
            rec.record(a, r, obs, info["obs_before_reset"], d, info["terminated"])
    assert rec.save(path, include_unfinished=True) > 0


def command(data, out):
    cmd = [
        sys.executable,
        "-m",
        "pwm.cli",
        "train",
        "--algo",
        "pwm",
        "--task",
        "cartpole",
        "--seed",
        "2",
        "--steps",
        "64",
        "--eval-every",
        "32",
        "--eval-episodes",
        "1",
        "--out",
        str(out),
        "--set",
        f"offline_data={data}",
    ]
    for s in TINY:
        cmd += ["--set", s]
    return cmd


def test_single_task_run_resumes_to_the_same_rows(tmp_path):
    data = tmp_path / "data"
    offline_chunk(data / "chunk_0.pt")
    reference = tmp_path / "uninterrupted"
    stdout = run_to_end(command(data, reference))
    assert "pre-training the world model for 5 steps" in stdout and "critic targets td_lambda" in stdout
    expected = pd.read_csv(reference / "eval.csv")
    assert expected.step.tolist() == [0, 32, 64] and (expected.env_steps == expected.step).all()
    assert (reference / "world_model.pt").exists()

    out = tmp_path / "killed"
    killed_at = kill_after_checkpoint(command(data, out), out / "checkpoint.pt", 32)
    assert killed_at < 64
    stdout = run_to_end(command(data, out))
    assert f"at step {killed_at}" in stdout
    pd.testing.assert_frame_equal(pd.read_csv(out / "eval.csv")[COMPARED], expected[COMPARED])


def test_symlog_reward_units_regress_symlog_of_the_raw_reward():
    wm, batch = tiny_model(), random_batch()
    rms = RunningMeanStd((1,))
    rms.update(batch.reward.reshape(-1, 1))
    H, gamma = 4, 0.9
    r = torch.sign(batch.reward[..., 0]) * torch.log1p(batch.reward[..., 0].abs())  # no rew_rms, no clip
    z, dyn, rew = wm.encode(batch.obs[0]), 0.0, 0.0
    for t in range(H):
        rew = rew + gamma**t * ((wm.reward(z, batch.action[t])[..., 0] - r[t]) ** 2).mean() / H
        z = wm.next(z, batch.action[t])
        dyn = dyn + gamma**t * ((z - wm.encode(batch.obs[t + 1]).detach()) ** 2).mean()
    loss, _ = world_model_loss(wm, batch, rms, gamma, reward_units="symlog")
    torch.testing.assert_close(loss, (dyn + rew) / H)
    with pytest.raises(ValueError, match="reward_units must be one of rms, symlog, got 'log'"):
        WorldModelTrainer(wm, rms, lr=1e-3, grad_norm=20.0, gamma=gamma, reward_units="log")


def test_world_model_file_carries_its_reward_units_and_a_run_in_other_units_stops(tmp_path):
    wm, rms = tiny_model(), RunningMeanStd((1,))
    save_world_model(tmp_path / "old.pt", wm, rms, 3)
    assert load_world_model(tmp_path / "old.pt")[2] == "rms"
    path = tmp_path / "world_model.pt"
    save_world_model(path, wm, rms, 3, "symlog")
    loaded, _, units = load_world_model(path)
    assert units == "symlog" and loaded.cfg.latent_dim == 16

    env = DiffEnv("cartpole", 1, seed=0)
    small = load_hparams({"wm_latent_dim": 16, "wm_enc_dim": 16, "wm_mlp_dim": 16})
    model = WorldModel(single_task_config(env.obs_dim, env.act_dim, small))
    env.close()
    save_world_model(path, model, rms, 3, "symlog")
    out = tmp_path / "run"
    offline_chunk(tmp_path / "data" / "chunk_0.pt", steps=40)
    cmd = command(tmp_path / "data", out) + ["--set", f"pretrained_world_model={path}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    assert f"{path} was trained with reward_units=symlog, but this run has reward_units=rms" in result.stderr


@pytest.mark.parametrize("norm", ["simnorm", "layernorm", "none"])
def test_the_latent_norm_ablations_build_and_round_trip_through_world_model_pt(tmp_path, norm):
    """``wm_latent_norm`` (issue 21's ablated world model): the latent layer's output is a product of
    8-simplices (simnorm), zero-mean unit-variance (layernorm) or a plain Linear's (none), and the
    file restores the same model (simnorm and layernorm have equal shapes, so the file records it)."""
    env = DiffEnv("cartpole", 1, seed=0)
    cfg = load_hparams({"wm_latent_dim": 16, "wm_enc_dim": 16, "wm_mlp_dim": 16, "wm_latent_norm": norm})
    wm = WorldModel(single_task_config(env.obs_dim, env.act_dim, cfg))
    env.close()
    obs = torch.randn(5, wm.cfg.obs_dim)
    z = wm.encode(obs)
    groups = z.view(5, -1, 8)
    if norm == "simnorm":
        torch.testing.assert_close(groups.sum(-1), torch.ones(5, 2))
    last, h = wm._encoder.state[-1], wm._encoder.state[:-1](obs)
    if norm == "layernorm":  # z = LayerNorm(W h + b), nothing after it
        mean = (h @ last.weight.T + last.bias).mean(-1, keepdim=True)
        centred = h @ last.weight.T + last.bias - mean
        expected = centred / torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + last.ln.eps)
        torch.testing.assert_close(z, expected * last.ln.weight + last.ln.bias)
    elif norm == "none":  # the last encoder layer is a plain Linear: z = W h + b
        assert type(last) is torch.nn.Linear
        torch.testing.assert_close(z, h @ last.weight.T + last.bias)
    save_world_model(tmp_path / "world_model.pt", wm, RunningMeanStd((1,)), 0)
    loaded, _, _ = load_world_model(tmp_path / "world_model.pt")
    assert loaded.cfg.latent_norm == norm
    torch.testing.assert_close(loaded.encode(obs), z)
    torch.testing.assert_close(loaded.next(z, torch.zeros(5, 1)), wm.next(z, torch.zeros(5, 1)))


def test_a_bad_latent_norm_and_a_file_whose_record_contradicts_its_shapes_are_refused(tmp_path):
    from pwm.checkpoint import CheckpointError

    with pytest.raises(ValueError, match="latent_norm 'batchnorm' is not one of simnorm, layernorm, none"):
        WorldModel(single_task_config(4, 1, load_hparams({"wm_latent_norm": "batchnorm"})))
    cfg = load_hparams({"wm_latent_dim": 16, "wm_enc_dim": 16, "wm_mlp_dim": 16, "wm_latent_norm": "none"})
    save_world_model(tmp_path / "none.pt", WorldModel(single_task_config(4, 1, cfg)), RunningMeanStd((1,)), 0)
    state = torch.load(tmp_path / "none.pt", weights_only=True)
    state["latent_norm"] = "simnorm"  # a record that the tensors (no LayerNorm on the latent layer) contradict
    torch.save(state, tmp_path / "lying.pt")
    with pytest.raises(CheckpointError, match="_encoder.state.1.ln.weight"):
        load_world_model(tmp_path / "lying.pt")


def test_a_run_whose_wm_latent_norm_differs_from_its_models_stops(tmp_path):
    env = DiffEnv("cartpole", 1, seed=0)
    small = load_hparams({"wm_latent_dim": 16, "wm_enc_dim": 16, "wm_mlp_dim": 16, "wm_latent_norm": "layernorm"})
    model = WorldModel(single_task_config(env.obs_dim, env.act_dim, small))
    env.close()
    path = tmp_path / "world_model.pt"
    save_world_model(path, model, RunningMeanStd((1,)), 3)
    offline_chunk(tmp_path / "data" / "chunk_0.pt", steps=40)
    cmd = command(tmp_path / "data", tmp_path / "run") + ["--set", f"pretrained_world_model={path}"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    assert f"{path} has latent_norm=layernorm, but this run has wm_latent_norm=simnorm" in result.stderr

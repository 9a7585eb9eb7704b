"""A diverging run stops with a clear error naming the run, the step and the kept checkpoint, and
the checkpoint on disk keeps finite weights (issue 9). SB3's version is in test_resume.py and
pretraining's in test_pretrain.py.

Each test makes one update diverge at a known step: either its loss goes NaN for real (TD-MPC2: the
NaN flows through backward into the weights), or an update is wrapped so that it returns a NaN loss
and leaves NaN in a weight, as a diverged update does.
"""

import json

import pytest
import torch

from pwm.run import DivergedError, Run, RunSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def spoil_after(monkeypatch, owner, name, after, spoil):
    """Replace ``owner.name`` by a wrapper that passes the result through ``spoil`` from call ``after + 1`` on."""
    original, calls = getattr(owner, name), [0]

    def wrapper(*args, **kwargs):
        out = original(*args, **kwargs)
        calls[0] += 1
        return spoil(args, out) if calls[0] > after else out

    monkeypatch.setattr(owner, name, wrapper)


def break_update(first_param, loss_key):
    """``spoil`` for a method returning a dict of losses: NaN in the first weight and in ``loss_key``."""

    def spoil(args, info):
        with torch.no_grad():
            first_param(args[0]).fill_(float("nan"))
        return {**info, loss_key: float("nan")} if loss_key else info

    return spoil


def assert_finite(state_dict, what):
    bad = [
        k for k, v in state_dict.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()
    ]
    assert not bad, f"non-finite {what} in the kept checkpoint: {bad}"


def checkpoint(out):
    return torch.load(out / "checkpoint.pt", weights_only=False)


def test_tdmpc2_nan_loss_stops_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    from baselines import tdmpc2
    from pwm import tdmpc2_agent

    # 20 seed updates at step 100 (the first episode's end), then one per step: call 26 is step 106.
    spoil_after(
        monkeypatch,
        tdmpc2_agent,
        "world_model_losses",
        25,
        lambda args, losses: {**losses, "consistency": losses["consistency"] * float("nan")},
    )
    hparams = dict(
        model_size=1, seed_steps=20, batch_size=8, num_samples=16, num_elites=4, num_pi_trajs=2, iterations=1
    )
    run = Run(
        RunSettings(
            algo="tdmpc2",
            task="mw-reach",
            seed=3,
            out_dir=str(tmp_path),
            steps=300,
            eval_every=100,
            eval_episodes=1,
            hparams=hparams,
        )
    )
    with pytest.raises(DivergedError) as err:
        tdmpc2.train(run)
    message = str(err.value)
    assert message.startswith("tdmpc2 diverged on mw-reach (seed 3) at step 106: non-finite loss")
    assert "consistency=nan" in message
    assert f"the last good checkpoint (step 100) is kept at {tmp_path / 'checkpoint.pt'}" in message
    ckpt = checkpoint(tmp_path)
    assert ckpt["step"] == 100 and [r["step"] for r in ckpt["eval_rows"]] == [0, 100]
    assert_finite(ckpt["payload"]["model"], "world-model weights")
    assert not (tmp_path / "eval.csv").exists()


def test_shac_nan_loss_stops_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    from baselines import shac

    # 8 envs x 16 steps = 128 env steps per iteration; iteration 3 (step 384) diverges.
    spoil_after(
        monkeypatch, shac.SHAC, "iterate", 2, break_update(lambda agent: next(agent.actor.parameters()), "actor_loss")
    )
    hparams = {"num_envs": 8, "horizon": 16, "critic_iterations": 2, "dataset_envs": 4, "dataset_segment": 8}
    run = Run(
        RunSettings(
            algo="shac",
            task="cartpole",
            seed=3,
            out_dir=str(tmp_path),
            steps=768,
            eval_every=256,
            eval_episodes=1,
            hparams=hparams,
        )
    )
    with pytest.raises(
        DivergedError,
        match=r"^shac diverged on cartpole \(seed 3\) at step 384: "
        r"non-finite loss actor_loss=nan; the last good checkpoint "
        r"\(step 256\) is kept at ",
    ):
        shac.train(run)
    ckpt = checkpoint(tmp_path)
    assert ckpt["step"] == 256
    for part in ("actor", "critic", "target_critic"):
        assert_finite(ckpt["payload"]["shac"][part], part)


def test_single_task_pwm_nan_loss_stops_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    from pwm import agent
    from pwm.policy_learning import PolicyLearner
    from test_pwm_singletask import TINY, offline_chunk

    offline_chunk(tmp_path / "data" / "chunk_0.pt")
    # 4 envs x H4 = 16 env steps per iteration; iteration 3 (step 48) diverges. The actor zeroes NaN
    # gradients in single-task mode (actor_nan_grads), which must not hide a NaN loss.
    spoil_after(
        monkeypatch,
        PolicyLearner,
        "update",
        2,
        break_update(lambda learner: next(learner.actor.parameters()), "actor_loss"),
    )
    hparams = {k: json.loads(v) for k, v in (s.split("=") for s in TINY)}
    run = Run(
        RunSettings(
            algo="pwm",
            task="cartpole",
            seed=2,
            out_dir=str(tmp_path / "run"),
            steps=64,
            eval_every=32,
            eval_episodes=1,
            hparams={**hparams, "offline_data": str(tmp_path / "data")},
        )
    )
    with pytest.raises(
        DivergedError,
        match=r"^pwm diverged on cartpole \(seed 2\) at step 48: non-finite loss "
        r"actor_loss=nan; the last good checkpoint \(step 32\) is kept",
    ):
        agent.train(run)
    ckpt = checkpoint(tmp_path / "run")
    assert ckpt["step"] == 32
    assert_finite(ckpt["payload"]["wm"], "world-model weights")
    assert_finite(ckpt["payload"]["learner"]["actor"], "actor weights")


def test_multitask_pwm_nan_gradient_stops_and_keeps_the_checkpoint(reference_dir, tmp_path, monkeypatch):
    from pwm import agent
    from pwm.policy_learning import PolicyLearner

    data = tmp_path / "data"
    data.mkdir()
    (data / "chunk_0.pt").symlink_to(reference_dir / "tdmpc2" / "mt30-sample-chunk_0.pt")
    # Iteration 3 leaves a NaN weight behind; the learner itself raises at iteration 4 (multitask mode
    # raises on a NaN actor gradient), and the loop names the run and the checkpoint of step 2.
    spoil_after(
        monkeypatch, PolicyLearner, "update", 2, break_update(lambda learner: next(learner.actor.parameters()), None)
    )
    hparams = dict(
        world_model=str(reference_dir / "tdmpc2" / "mt30-size1.pt"),
        data_dir=str(data),
        batch_size=32,
        horizon=4,
        critic_iterations=2,
        critic_batches=2,
    )
    run = Run(
        RunSettings(
            algo="pwm",
            task="cartpole-swingup",
            seed=5,
            out_dir=str(tmp_path / "run"),
            steps=8,
            eval_every=2,
            eval_episodes=1,
            hparams=hparams,
        )
    )
    with pytest.raises(
        DivergedError,
        match=r"^pwm diverged on cartpole-swingup \(seed 5\) at step 4: non-finite "
        r"actor gradient norm nan .*the last good checkpoint \(step 2\) is kept",
    ):
        agent.train(run)
    ckpt = checkpoint(tmp_path / "run")
    assert ckpt["step"] == 2
    assert_finite(ckpt["payload"]["learner"]["actor"], "actor weights")
    assert_finite(ckpt["payload"]["learner"]["critic"], "critic weights")

"""How wrong is a single-task PWM world model where the policy learns from it?

PWM's actor follows the gradient of the *model's* H-step return, so what matters is the model's
error along the rollouts it imagines. This prints, per horizon step t = 1..H:

- ``offline``: windows of the offline data (the pre-training distribution), open loop with the
  recorded actions: reward error, signed bias (rew_rms-normalised units) and correlation with the
  real reward,
  and the latent error ||ẑ_t - h(o_t)||² (mean over dims) of the dynamics;
- ``on-policy`` (with ``--checkpoint``, a PWM run's checkpoint.pt): the run's actor acts in
  ``--envs`` real envs from their reset states and, in lockstep, in the model from h(o_0) with the
  *same* actions (stochastic, as in training); the same errors, plus the H-step imagined return
  against the real normalised return (model exploitation shows as imagined >> real).

    python benchmarks/pwm_world_model_error.py --task hopper \
        --world-model results/single-laptop/world_models/hopper/world_model.pt \
        --data results/single-laptop/runs/shac/hopper/seed1/rollouts.pt \
        --checkpoint results/single-laptop/runs/pwm/hopper/seed1/checkpoint.pt
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from pwm.actor_critic import Actor
from pwm.agent import load_hparams
from pwm.data.chunks import load_chunks
from pwm.data.sampler import SliceSampler
from pwm.singletask_pretrain import load_world_model


def corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


@torch.no_grad()
def open_loop(wm, rew_rms, obs, actions, rewards, valid, clip=5.0):
    """Per-step [H] reward MAE, reward correlation, latent error, and [B] imagined / real returns."""
    H = actions.shape[0]
    real = rew_rms.normalize(rewards, clip=clip)
    z = wm.encode(obs[0])
    rows, imagined, actual = [], torch.zeros(obs.shape[1]), torch.zeros(obs.shape[1])
    for t in range(H):
        r_hat = wm.reward(z, actions[t])[..., 0]
        z = wm.next(z, actions[t])
        target = wm.encode(obs[t + 1])
        m = valid[t] > 0
        imagined += torch.where(m, r_hat, torch.zeros_like(r_hat))
        actual += torch.where(m, real[t], torch.zeros_like(r_hat))
        rows.append(
            (
                (r_hat - real[t]).abs()[m].mean().item(),
                (r_hat - real[t])[m].mean().item(),
                corr(r_hat[m], real[t][m]),
                (z - target).pow(2).mean(-1)[m].mean().item(),
                int(m.sum()),
            )
        )
    return rows, imagined, actual


def offline_windows(data, horizon, n, seed):
    chunks = load_chunks(data)
    batch = SliceSampler(chunks, horizon, n, seed=seed).sample()
    valid = batch.valid[..., 0] if batch.valid is not None else torch.ones(horizon, n)
    return batch.obs, batch.action, batch.reward[..., 0], valid


@torch.no_grad()
def on_policy_windows(task, checkpoint, latent_dim, horizon, envs, seed, wm):
    from pwm.envs.diff import DiffEnv
    from pwm.signing import load_data

    payload = load_data(checkpoint, "PWM run checkpoint")["payload"]
    cfg = load_hparams()
    env = DiffEnv(task, envs, seed=seed)
    actor = Actor(latent_dim, env.act_dim, list(cfg.actor_hidden), cfg.actor_logstd_init, cfg.actor_logstd_min)
    actor.load_state_dict(payload["learner"]["actor"])
    obs = [env.reset()]
    actions, rewards, valid = [], [], []
    alive = torch.ones(envs, dtype=torch.bool)
    z = wm.encode(obs[0])
    for _ in range(horizon):
        a = actor(z)
        next_obs, r, done, info = env.step(a)
        valid.append(alive.float())
        actions.append(a)
        rewards.append(torch.nan_to_num(r))
        obs.append(torch.nan_to_num(info["obs_before_reset"]))
        alive = alive & ~done
        z = wm.next(z, a)  # the imagined rollout: actions from imagined latents, as in training
    env.close()
    return torch.stack(obs), torch.stack(actions), torch.stack(rewards), torch.stack(valid)


def print_table(name, rows, imagined, actual):
    print(f"\n{name}: per imagined step (rewards in rew_rms-normalised units)")
    print(f"{'t':>3s} {'reward MAE':>11s} {'reward bias':>12s} {'reward corr':>12s} {'latent err':>11s} {'n':>6s}")
    for t, (mae, bias, c, lat, n) in enumerate(rows, 1):
        print(f"{t:3d} {mae:11.4f} {bias:+12.4f} {c:12.3f} {lat:11.5f} {n:6d}")
    print(
        f"H-step return: imagined {imagined.mean():.3f} vs real {actual.mean():.3f} "
        f"(corr {corr(imagined, actual):.3f}, mean gap {float((imagined - actual).mean()):+.3f})"
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True)
    p.add_argument("--world-model", required=True)
    p.add_argument("--data", required=True, help="offline chunk file or directory")
    p.add_argument("--checkpoint", help="a PWM run's checkpoint.pt (its actor acts on-policy)")
    p.add_argument("--horizon", type=int, default=16)
    p.add_argument("--windows", type=int, default=2048)
    p.add_argument("--envs", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    wm, rew_rms, _ = load_world_model(args.world_model)
    print(
        f"world model {args.world_model}: latent {wm.cfg.latent_dim}; rew_rms mean {float(rew_rms.mean):.3f} "
        f"std {float(rew_rms.var.sqrt()):.3f}"
    )
    print_table(
        "offline windows", *open_loop(wm, rew_rms, *offline_windows(args.data, args.horizon, args.windows, args.seed))
    )
    if args.checkpoint:
        windows = on_policy_windows(
            args.task, args.checkpoint, wm.cfg.latent_dim, args.horizon, args.envs, args.seed, wm
        )
        print_table(f"on-policy ({args.checkpoint})", *open_loop(wm, rew_rms, *windows))


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()

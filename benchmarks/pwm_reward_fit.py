"""How well does a single-task PWM world model's reward head fit the steps that are not falls?

On early-terminating tasks (hopper) most of the reward's variance comes from the few steps near a
fall (dflex's -200 d² height penalty), while the actor's signal towards hopping lies in the small
variation of the other steps. This prints, for offline windows of the data and imagined steps
t = 0, 4, 15 (open loop with the recorded actions), the reward error and its correlation with the
real reward separately for fall steps (raw reward < 0) and the others, in the model's reward units;
and, as the yardstick, the R² of a least-squares fit of the raw non-fall reward on
(o_t, a_t, a_t², 1), i.e. how much of it a linear function of what the model sees explains.

    python benchmarks/pwm_reward_fit.py --world-model <world_model.pt> --data <SHAC run>/rollouts.pt
"""

from __future__ import annotations

import argparse

import torch

from pwm.data.chunks import load_chunks
from pwm.data.sampler import SliceSampler
from pwm.singletask_pretrain import load_world_model
from pwm.world_model_training import reward_targets
from pwm_world_model_error import corr  # benchmarks/ is on sys.path when this script runs


def linear_r2(chunks) -> float:
    """R² of least squares of the raw non-fall reward r_t on (o_t, a_t, a_t², 1)."""
    xs, ys = [], []
    for c in chunks:
        valid = c["valid"][:, 1:].bool() if "valid" in c else torch.ones_like(c["reward"][:, 1:], dtype=torch.bool)
        obs, act, rew = c["obs"][:, :-1][valid], c["action"][:, 1:][valid], c["reward"][:, 1:][valid]
        keep = rew >= 0
        xs.append(torch.cat([obs, act, act**2, torch.ones(len(obs), 1)], -1)[keep])
        ys.append(rew[keep])
    x, y = torch.cat(xs).double(), torch.cat(ys).double()
    residual = y - (x @ torch.linalg.lstsq(x, y[:, None]).solution)[:, 0]
    return float(1 - residual.var() / y.var())


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--world-model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--windows", type=int, default=2048)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    wm, rew_rms, units = load_world_model(args.world_model)
    chunks = load_chunks(args.data)
    batch = SliceSampler(chunks, 16, args.windows, seed=args.seed).sample()
    print(
        f"{args.world_model}: reward_units {units}; rew_rms mean {float(rew_rms.mean):.3f} std {float(rew_rms.std()):.3f}"
    )
    print(f"linear fit of the raw non-fall reward on (o, a, a², 1): R² {linear_r2(chunks):.3f}\n")
    print("| t | steps | n | real std | RMSE | bias | correlation |")
    print("|---|---|---|---|---|---|---|")
    z0 = wm.encode(batch.obs[0])
    for t in (0, 4, 15):
        z = z0
        for k in range(t):
            z = wm.next(z, batch.action[k])
        predicted = wm.reward(z, batch.action[t])[..., 0]
        raw = batch.reward[t, :, 0]
        real = reward_targets(raw, rew_rms, units)
        valid = batch.valid[t, :, 0] > 0 if batch.valid is not None else torch.ones_like(raw, dtype=torch.bool)
        for name, m in (("falls (r < 0)", valid & (raw < 0)), ("others", valid & (raw >= 0))):
            err = (predicted - real)[m]
            print(
                f"| {t} | {name} | {int(m.sum())} | {float(real[m].std()):.3f} | {float(err.pow(2).mean().sqrt()):.3f} "
                f"| {float(err.mean()):+.3f} | {corr(predicted[m], real[m]):.3f} |"
            )


if __name__ == "__main__":
    main()

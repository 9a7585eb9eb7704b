"""The gradient through the dflex adapter against central finite differences of the same rollouts.

    python benchmarks/dflex_gradient_check.py --tasks dflex-hopper dflex-ant --horizons 8 32

Needs dflex installed (README.md, "dflex tasks"). For each task and horizon H: one env from a fixed
stochastic start, actions a[0..H-1] drawn uniformly in [-0.5, 0.5], the objective the sum of the H
rewards (as SHAC's actor loss sums them). The autograd gradient w.r.t. every action entry (through
``DflexEnv.step``, i.e. dflex's adjoint kernels) is compared with the central difference of each entry
(``--eps``, rollouts on dflex's tape-free path): cosine, relative error ||g - g_fd|| / ||g_fd||, and
the largest entry-wise difference. tests/test_dflex.py checks the same on a few directions.
"""

from __future__ import annotations

import argparse
import time

import torch

from pwm.envs.dflex.batched import DflexEnv


def rollout_return(env: DflexEnv, start: dict, actions: torch.Tensor) -> torch.Tensor:
    env.set_state(start)
    total = torch.zeros(())
    for a in actions:
        _, reward, _, _ = env.step(a)
        total = total + reward.sum()
    return total


def check(task: str, horizon: int, eps: float, seed: int) -> dict:
    env = DflexEnv(task, 1, seed=seed)
    env.reset()
    start = env.get_state()
    generator = torch.Generator().manual_seed(seed)
    base = torch.rand(horizon, 1, env.act_dim, generator=generator) - 0.5
    began = time.perf_counter()
    actions = base.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(rollout_return(env, start, actions), actions)
    fd = torch.zeros_like(base)
    with torch.no_grad():
        for index in range(base.numel()):
            step = torch.zeros(base.numel())
            step[index] = eps
            step = step.view_as(base)
            fd.view(-1)[index] = (rollout_return(env, start, base + step) - rollout_return(env, start, base - step)) / (
                2 * eps
            )
    g, f = grad.flatten().double(), fd.flatten().double()
    return dict(
        task=task,
        horizon=horizon,
        entries=g.numel(),
        cosine=float(torch.nn.functional.cosine_similarity(g, f, dim=0)),
        rel_error=float((g - f).norm() / f.norm()),
        max_abs_diff=float((g - f).abs().max()),
        grad_norm=float(g.norm()),
        seconds=time.perf_counter() - began,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["dflex-hopper", "dflex-ant"])
    parser.add_argument("--horizons", nargs="+", type=int, default=[8, 32])
    parser.add_argument("--eps", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"central differences, eps {args.eps}, seed {args.seed}, float32 physics")
    print("| task | H | action entries | cosine | relative error | max abs diff | grad norm | s |")
    print("|---|---|---|---|---|---|---|---|")
    for task in args.tasks:
        for horizon in args.horizons:
            r = check(task, horizon, args.eps, args.seed)
            print(
                f"| {r['task']} | {r['horizon']} | {r['entries']} | {r['cosine']:.5f} | {r['rel_error']:.2%} | "
                f"{r['max_abs_diff']:.3g} | {r['grad_norm']:.3g} | {r['seconds']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

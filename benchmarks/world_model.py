"""Time one TD-MPC2-style world-model update on CPU (default: 1 torch thread).

For each model size and task layout it times, on a synthetic batch (B=256, H=3):
  * ``fwd+bwd``: the world-model loss of TD-MPC2's ``_update`` (TD targets under no_grad,
    latent rollout, consistency + reward + value losses) and its backward pass;
  * ``update``: the whole step as TD-MPC2 does it (fwd+bwd, grad clip, Adam, policy-prior loss
    through the detached Q, pi Adam step, target EMA), comparable to docs/reference-notes.md §8.
Matmul FLOPs are counted with torch's FlopCounterMode and divided by the float32 matmul peak
measured in the same run, so ``time/floor`` travels between machines.

    python benchmarks/world_model.py [--threads 1] [--sizes 1 5] [--iters 10]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from pwm import math
from pwm.allocator import keep_freed_memory
from pwm.world_model import WorldModel, WorldModelConfig

RHO, COEF = 0.5, dict(consistency=20.0, reward=0.1, value=0.1)


def make_model(size: int, task_set: str | None, device) -> WorldModel:
    obs = 24
    cfg = WorldModelConfig.for_model_size(size, obs, 6, task_set=task_set)
    return WorldModel(cfg).to(device).eval()


def make_batch(model: WorldModel, batch: int, horizon: int, device):
    c = model.cfg
    obs = torch.randn(horizon + 1, batch, c.obs_dim, device=device)
    action = torch.rand(horizon, batch, c.action_dim, device=device) * 2 - 1
    reward = torch.rand(horizon, batch, 1, device=device)
    task = torch.randint(c.num_tasks, (batch,), device=device) if c.multitask else None
    return obs, action, reward, task


def world_model_loss(model: WorldModel, obs, action, reward, task, discount=0.99):
    """TD-MPC2's world-model loss (consistency, reward CE, value CE), rho-weighted over the horizon."""
    H = action.shape[0]
    with torch.no_grad():
        next_z = model.encode(obs[1:], task)
        next_action, _ = model.pi(next_z, task)
        td_target = reward + discount * model.Q(next_z, next_action, task, "min", target=True)
    model.train()
    z = model.encode(obs[0], task)
    zs, consistency = [z], 0.0
    for t in range(H):
        z = model.next(z, action[t], task)
        consistency = consistency + F.mse_loss(z, next_z[t]) * RHO**t
        zs.append(z)
    zs = torch.stack(zs)
    _zs = zs[:-1]
    qs = model.Q(_zs, action, task, "all")
    reward_logits = model.reward(_zs, action, task)
    weights = RHO ** torch.arange(H, device=obs.device, dtype=obs.dtype)
    reward_loss = (math.soft_ce(reward_logits, reward).mean(dim=(1, 2)) * weights).sum()
    value_loss = (
        math.soft_ce(qs, td_target.unsqueeze(0).expand(qs.shape[0], -1, -1, -1)).mean(dim=(2, 3)) * weights
    ).sum()
    total = (
        COEF["consistency"] * consistency + COEF["reward"] * reward_loss + COEF["value"] * value_loss / model.cfg.num_q
    ) / H
    return total, zs


def policy_loss(model: WorldModel, zs, task):
    action, info = model.pi(zs, task)
    q = model.Q(zs, action, task, "avg", detach=True)
    weights = RHO ** torch.arange(len(zs), device=zs.device, dtype=zs.dtype)
    return ((-(1e-4 * info["scaled_entropy"] + q)).mean(dim=(1, 2)) * weights).mean()


def make_steps(model, batch, horizon, device):
    data = make_batch(model, batch, horizon, device)
    pi_params = list(model._pi.parameters())
    wm_params = [p for n, p in model.named_parameters() if not n.startswith("_pi.")]
    optim = torch.optim.Adam(wm_params, lr=3e-4)
    pi_optim = torch.optim.Adam(pi_params, lr=3e-4, eps=1e-5)

    def fwd_bwd():
        loss, _ = world_model_loss(model, *data)
        loss.backward()
        model.zero_grad(set_to_none=True)
        model.eval()

    def update():
        loss, zs = world_model_loss(model, *data)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(wm_params, 20.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        pi_loss = policy_loss(model, zs.detach(), data[3])
        pi_loss.backward()
        torch.nn.utils.clip_grad_norm_(pi_params, 20.0)
        pi_optim.step()
        pi_optim.zero_grad(set_to_none=True)
        model.soft_update_target_Q(0.01)
        model.eval()

    return fwd_bwd, update


def median_ms(fn, iters: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def count_gflop(fn) -> float:
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops() / 1e9


def matmul_peak_gflops(n: int = 2048, iters: int = 5) -> float:
    """The best rate of ``iters`` timed n x n GEMMs (a mean let one slow moment of a shared machine
    halve the peak, and so the time/floor ratios, in one run)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(iters):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def main() -> None:
    # as every pwm-bench job: freed tensors are reused, not page-faulted in again (PWM_BENCH_MALLOC=default: glibc's)
    print(f"allocator: {'freed memory kept (pwm.allocator)' if keep_freed_memory() else 'glibc defaults'}")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 5])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--horizon", type=int, default=3)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--layouts", nargs="+", default=["walker-walk", "mt30"], choices=["walker-walk", "mt30"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    peak = matmul_peak_gflops()
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, threads={args.threads}, "
        f"device={device}, batch={args.batch}, horizon={args.horizon}, matmul peak {peak:.0f} GFLOP/s"
    )
    print(
        "| task | size | params | fwd+bwd GFLOP | fwd+bwd ms | fwd+bwd time/floor | update GFLOP | update ms | update time/floor |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        for task_set in [None if layout == "walker-walk" else layout for layout in args.layouts]:
            model = make_model(size, task_set, device)
            fwd_bwd, update = make_steps(model, args.batch, args.horizon, device)
            g_fb, g_up = count_gflop(fwd_bwd), count_gflop(update)
            ms_fb = median_ms(fwd_bwd, args.iters, args.warmup)
            ms_up = median_ms(update, args.iters, args.warmup)
            floor = lambda g: 1e3 * g / peak  # noqa: E731
            name = "mt30" if task_set else "walker-walk"
            print(
                f"| {name} | {size} | {model.total_params:,} | {g_fb:.1f} | {ms_fb:.0f} | {ms_fb / floor(g_fb):.2f} "
                f"| {g_up:.1f} | {ms_up:.0f} | {ms_up / floor(g_up):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

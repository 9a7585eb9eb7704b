"""Time one PWM policy iteration (512 rollouts x H16 actor step + 8x4 critic steps) in a frozen
multitask world model of sizes 1 and 5, against the matmul floor measured in the same run; and
PWM's per-action latency (encode + actor mean, batch 1) against one TD-MPC2 MPPI planning decision
with the same world model.

    python benchmarks/pwm_iteration.py [--threads 2] [--iters 5] [--warmup 2] [--sizes 1 5]

Reported per size: median ms of the actor step, the critic phase and the whole iteration; matmul
GFLOP (torch FlopCounterMode) and time / floor, where floor = GFLOP / measured float32 matmul peak
(4096^2 GEMM). Then median ms per PWM action and per MPPI decision (6 iterations, 512 samples, 24
policy trajectories, H3) and their ratio. Timings on a shared machine are noisy: compare ratios
from one run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from pwm.agent import load_hparams
from pwm.allocator import keep_freed_memory
from pwm.envs.suites import TASK_SETS
from pwm.planning import MPPIPlanner, PlannerConfig, discount_heuristic
from pwm.policy_learning import PolicyLearner, freeze
from pwm.world_model import WorldModel, WorldModelConfig

TASK_ID = 1  # walker-walk: 6 action dims


def matmul_peak(n: int = 4096, reps: int = 3) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def world_model(size: int) -> WorldModel:
    table = TASK_SETS["mt30"]
    cfg = WorldModelConfig.for_model_size(size, 24, 6, task_set="mt30", action_dims=tuple(a for _, _, a in table))
    torch.manual_seed(0)
    wm = WorldModel(cfg)
    with torch.no_grad():
        wm._reward[-1].weight.normal_(0, 0.02)
    return freeze(wm)


def time_iteration(learner: PolicyLearner, z0, iters: int, warmup: int) -> dict:
    actor, critic, total = [], [], []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        rollout, _ = learner.actor_step(z0, TASK_ID)
        t1 = time.perf_counter()
        learner.fit_critic(rollout.latents, learner.critic_targets(rollout))
        t2 = time.perf_counter()
        if i >= warmup:
            actor.append(t1 - t0), critic.append(t2 - t1), total.append(t2 - t0)
    with FlopCounterMode(display=False) as fa:
        rollout, _ = learner.actor_step(z0, TASK_ID)
    with FlopCounterMode(display=False) as fc:
        learner.fit_critic(rollout.latents, learner.critic_targets(rollout))
    med = lambda xs: statistics.median(xs) * 1e3  # noqa: E731
    return dict(
        actor_ms=med(actor),
        critic_ms=med(critic),
        iteration_ms=med(total),
        actor_gflop=fa.get_total_flops() / 1e9,
        critic_gflop=fc.get_total_flops() / 1e9,
    )


def mish_share(learner: PolicyLearner, z0, rounds: int) -> tuple[float, float]:
    """Median seconds of one iteration with Mish and with Mish replaced by the identity (in the world
    model, the actor and the critic), alternating over ``rounds``: Mish's share of the iteration.
    The identity is not a valid model, only a measurement of what the elementwise pass costs."""
    import pwm.actor_critic
    import pwm.nn

    real = pwm.nn.mish
    times = {True: [], False: []}
    try:
        for i in range(2 * rounds + 2):
            with_mish = i % 2 == 0
            pwm.nn.mish = pwm.actor_critic.mish = real if with_mish else (lambda x: x)
            t = time.perf_counter()
            rollout, _ = learner.actor_step(z0, TASK_ID)
            learner.fit_critic(rollout.latents, learner.critic_targets(rollout))
            if i >= 2:  # one warm-up each
                times[with_mish].append(time.perf_counter() - t)
    finally:
        pwm.nn.mish = pwm.actor_critic.mish = real
    return statistics.median(times[True]), statistics.median(times[False])


def time_calls(fn, iters: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> None:
    # as every pwm-bench job: freed tensors are reused, not page-faulted in again (PWM_BENCH_MALLOC=default: glibc's)
    print(f"allocator: {'freed memory kept (pwm.allocator)' if keep_freed_memory() else 'glibc defaults'}")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5])
    parser.add_argument(
        "--mish-share",
        action="store_true",
        help="also time each iteration with Mish replaced by the identity, alternating (its share of the time)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_hparams()
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} thread(s), "
        f"median of {args.iters} after {args.warmup} warm-up"
    )
    peak = matmul_peak()
    print(f"matmul peak: {peak:.0f} GFLOP/s")
    print("| size | actor step ms | critic 8x4 ms | iteration ms | GFLOP (actor + critic) | floor ms | time / floor |")
    print("|---|---|---|---|---|---|---|")
    latency = []
    for size in args.sizes:
        wm = world_model(size)
        learner = PolicyLearner(wm, cfg, wm.cfg.action_dim, multitask=True)
        with torch.no_grad():
            z0 = wm.encode(torch.randn(int(cfg.batch_size), 24), TASK_ID)
        r = time_iteration(learner, z0, args.iters, args.warmup)
        gflop = r["actor_gflop"] + r["critic_gflop"]
        floor = gflop / peak * 1e3
        print(
            f"| {size} | {r['actor_ms']:.0f} | {r['critic_ms']:.0f} | {r['iteration_ms']:.0f} | "
            f"{gflop:.1f} ({r['actor_gflop']:.1f} + {r['critic_gflop']:.1f}) | {floor:.0f} | "
            f"{r['iteration_ms'] / floor:.2f} |",
            flush=True,
        )
        if args.mish_share:
            with_mish, without = mish_share(learner, z0, args.iters)
            print(
                f"|   | Mish's share: {with_mish * 1e3:.0f} ms with, {without * 1e3:.0f} ms with the identity "
                f"({1 - without / with_mish:.0%}); without any Mish time/floor would be {without * 1e3 / floor:.2f} |",
                flush=True,
            )

        obs = torch.randn(1, 24)
        pwm_ms = time_calls(lambda learner=learner, obs=obs: learner.act(obs, TASK_ID), iters=200, warmup=20)
        planner = MPPIPlanner(wm, PlannerConfig(), discount_heuristic(500))
        planner.plan(obs[0], TASK_ID, t0=True, eval_mode=True)
        plan_ms = time_calls(
            lambda planner=planner, obs=obs: planner.plan(obs[0], TASK_ID, eval_mode=True),
            iters=max(args.iters, 5),
            warmup=1,
        )
        latency.append((size, pwm_ms, plan_ms))
    print("\n| size | PWM action ms | MPPI decision ms | planning / PWM |")
    print("|---|---|---|---|")
    for size, pwm_ms, plan_ms in latency:
        print(f"| {size} | {pwm_ms:.3f} | {plan_ms:.1f} | {plan_ms / pwm_ms:.0f}x |")


if __name__ == "__main__":
    main()

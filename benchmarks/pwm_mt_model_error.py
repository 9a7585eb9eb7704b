"""How wrong is a frozen multitask world model where multitask PWM's actor looks?

Multitask PWM never steps the real environment while it learns: its actor follows the gradient of
the *model's* H-step return from offline start states. If the model is wrong off its data, the
actor can raise the imagined return while the real one falls. This prints, per task:

- ``data actions``: windows of the offline data, open loop with the recorded actions (the
  pre-training distribution): per-step reward error against the real reward;
- ``policy actions``: the run's actor (deterministic, as evaluated) acts in the real environment;
  from states along its episodes the model predicts, open loop, the rewards of the *same* actions;
- ``imagined``: from the same states the actor acts in the model, as in training; its H-step
  imagined return against the real H-step return that the deployed policy collected from there;
- ``critic``: the run's critic (min over the ensemble) at those states against the real discounted
  return-to-go of the deployed policy, in the units the critic learns (the reference optimises the
  symlog-scale reward, ``reward_symexp: false``: sum of gamma^k symlog(r_k)); start states with at
  least 300 decisions left, so the episode's end cuts off < 5% of the discounted sum.

Rewards are in the environment's units (the model's symlog-bin prediction decoded with symexp);
real rewards are per decision (summed over the action repeat), as in the data.

    python benchmarks/pwm_mt_model_error.py --world-model results/mt-laptop/world_model/model.pt \\
        --data results/mt-laptop/dataset --runs results/mt-laptop/runs/pwm/cartpole-balance/seed1
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import yaml

from pwm import math as wm_math
from pwm.actor_critic import Actor, CriticEnsemble
from pwm.agent import load_hparams
from pwm.checkpoint import load_tdmpc2
from pwm.data.chunks import load_chunks
from pwm.data.sampler import SliceSampler
from pwm.envs.registry import make
from pwm.envs.suites import TASK_SETS
from pwm.envs.suites import suite_tasks as task_names
from pwm.multitask_pwm import read_multitask_checkpoint
from pwm.policy_learning import decode_reward, freeze
from pwm.signing import load_data


def corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


def reward(wm, z, a, task_id):
    return decode_reward(wm.reward(z, a, task_id), wm, symexp=True)


@torch.no_grad()
def open_loop(wm, task_id, obs0, actions):
    """Predicted rewards [H, B] of ``actions [H, B, A]`` from the encoded ``obs0 [B, O]``."""
    z, out = wm.encode(obs0, task_id), []
    for a in actions:
        out.append(reward(wm, z, a, task_id))
        z = wm.next(z, a, task_id)
    return torch.stack(out)


@torch.no_grad()
def imagined(wm, actor, mask, task_id, obs0, horizon):
    """Rewards [H, B] the actor collects in the model from the encoded ``obs0``."""
    z, out = wm.encode(obs0, task_id), []
    for _ in range(horizon):
        a = actor(z, deterministic=True)
        a = a * mask if mask is not None else a
        out.append(reward(wm, z, a, task_id))
        z = wm.next(z, a, task_id)
    return torch.stack(out)


def load_world_model(path, task_set: str):
    """The frozen multitask world model of ``path`` (action dims of ``task_set``), the task set's
    ``(name, obs_dim, action_dim)`` table and its task names in id order."""
    sd, _ = read_multitask_checkpoint(path)
    table = TASK_SETS[task_set]
    return freeze(load_tdmpc2(sd, action_dims=tuple(a for _, _, a in table))), table, task_names(task_set)


class PWMRun(NamedTuple):
    """A finished multitask PWM run, loaded against the world model it learned in."""

    actor: Actor
    critic: CriticEnsemble
    cfg: object
    task: str
    task_id: int
    obs_dim: int
    act_dim: int
    mask: torch.Tensor | None


def load_run(run_dir: Path, wm, table, names) -> PWMRun:
    actor, critic, cfg, task = load_actor(run_dir, wm)
    task_id = names.index(task)
    _, obs_dim, act_dim = table[task_id]
    mask = wm.action_mask(task_id) if cfg.mask_actions else None
    return PWMRun(actor, critic, cfg, task, task_id, obs_dim, act_dim, mask)


def load_actor(run_dir: Path, wm):
    settings = yaml.safe_load((run_dir / "config.yaml").read_text())
    cfg = load_hparams(settings.get("hparams") or {})
    actor = Actor(
        wm.cfg.latent_dim, wm.cfg.action_dim, list(cfg.actor_hidden), cfg.actor_logstd_init, cfg.actor_logstd_min
    )
    critic = CriticEnsemble(wm.cfg.latent_dim, list(cfg.critic_hidden), int(cfg.num_critics))
    learner = load_data(run_dir / "checkpoint.pt", "PWM run checkpoint")["payload"]["learner"]
    actor.load_state_dict(learner["actor"])
    critic.load_state_dict(learner["critic"])
    return actor.eval(), critic.eval(), cfg, settings["task"]


@torch.no_grad()
def policy_episodes(task, actor, mask, wm, task_id, obs_dim, act_dim, episodes, seed):
    """Padded observations [T+1, O], padded actions [T, A] and rewards [T] of each real episode."""
    out = []
    for e in range(episodes):
        env = make(task, seed + e)
        o, _ = env.reset(seed=seed + e)
        obs, acts, rews, done = [], [], [], False
        while not done:
            x = torch.zeros(1, wm.cfg.obs_dim)
            x[0, :obs_dim] = torch.as_tensor(o, dtype=torch.float32)
            a = actor(wm.encode(x, task_id), deterministic=True)
            a = a * mask if mask is not None else a
            o, r, terminated, truncated, _ = env.step(a[0, :act_dim].numpy())
            obs.append(x[0]), acts.append(a[0]), rews.append(float(r))
            done = terminated or truncated
        env.close()
        out.append((torch.stack(obs), torch.stack(acts), torch.tensor(rews)))
    return out


def row(name, predicted, real):
    err = predicted - real
    return (
        f"| {name} | {real.mean():.3f} | {predicted.mean():.3f} | {err.abs().mean():.3f} | {err.mean():+.3f} | "
        f"{corr(predicted, real):.2f} |"
    )


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world-model", required=True, help="the multitask checkpoint the PWM runs learned in")
    p.add_argument("--data", required=True, help="the dataset directory the world model was trained on")
    p.add_argument("--runs", nargs="+", required=True, help="multitask PWM run directories (checkpoint.pt)")
    p.add_argument("--task-set", default="mt30")
    p.add_argument("--horizon", type=int, default=16)
    p.add_argument("--episodes", type=int, default=2, help="real episodes of each run's actor")
    p.add_argument("--every", type=int, default=25, help="decisions between imagined start states")
    p.add_argument("--windows", type=int, default=512, help="offline windows per task")
    p.add_argument("--seed", type=int, default=100)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    wm, table, names = load_world_model(args.world_model, args.task_set)
    chunks = load_chunks(args.data, num_tasks=len(names))
    H = args.horizon
    print("| windows | real reward / step | predicted | abs error | bias | corr |")
    print("|---|---|---|---|---|---|")
    for run in map(Path, args.runs):
        actor, critic, cfg, task, task_id, obs_dim, act_dim, mask = load_run(run, wm, table, names)
        batch = SliceSampler(chunks, H, args.windows, tasks=[task_id], seed=args.seed).sample()
        offline = open_loop(wm, task_id, batch.obs[0], batch.action)
        print(row(f"{run}: data actions", offline, batch.reward[..., 0]))
        starts_obs, starts_act, starts_rew, values, to_go = [], [], [], [], []
        gamma = float(cfg.gamma)
        for obs, acts, rews in policy_episodes(
            task, actor, mask, wm, task_id, obs_dim, act_dim, args.episodes, args.seed
        ):
            for s in range(0, len(rews) - H + 1, args.every):
                starts_obs.append(obs[s]), starts_act.append(acts[s : s + H]), starts_rew.append(rews[s : s + H])
            sym = wm_math.symlog(rews)
            for s in range(0, len(rews) - 300 + 1, args.every):
                discounts = gamma ** torch.arange(len(rews) - s, dtype=torch.float32)
                to_go.append(float((discounts * sym[s:]).sum()))
                with torch.no_grad():
                    values.append(float(critic.min_value(wm.encode(obs[s][None], task_id))[0]))
        obs0, acts, rews = torch.stack(starts_obs), torch.stack(starts_act, 1), torch.stack(starts_rew, 1)
        print(row(f"{run}: policy actions", open_loop(wm, task_id, obs0, acts), rews))
        dream = imagined(wm, actor, mask, task_id, obs0, H)
        print(
            f"| {run}: imagined {H}-step return vs real | {rews.sum(0).mean():.2f} | {dream.sum(0).mean():.2f} | "
            f"{(dream.sum(0) - rews.sum(0)).abs().mean():.2f} | {(dream.sum(0) - rews.sum(0)).mean():+.2f} | "
            f"{corr(dream.sum(0), rews.sum(0)):.2f} |"
        )
        if values:
            v, g = torch.tensor(values), torch.tensor(to_go)
            print(
                f"| {run}: critic vs real return-to-go (symlog units, gamma {gamma}) | {g.mean():.2f} | {v.mean():.2f} | "
                f"{(v - g).abs().mean():.2f} | {(v - g).mean():+.2f} | {corr(v, g):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()

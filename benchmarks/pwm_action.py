"""Latency of PWM's action (encoder + the actor's deterministic mean, batch 1, no_grad), project vs reference.

The reference is the PWM authors' code (github.com/imgeorgiev/PWM), imported at run time from a
local checkout given with ``--reference`` (its ``src/pwm`` package, loaded under the project's own
``pwm`` name only while importing, so both live in one process); nothing of it is copied here.
Get a checkout with ``git clone https://github.com/imgeorgiev/PWM`` (the ``external/tdmpc2``
submodule is not needed).

Both sides are built with their own classes and the reference's hyperparameters:
  * ``mt30-5M``: the paper's multitask 5M model (``scripts/cfg/alg/pwm_5M.yaml``), obs padded to
    the mt30 maximum (24), action padded to 6, 30 tasks, task embedding 64 (the override of
    ``scripts/train_multitask.py`` for mt30 data; the yaml's 96 is mt80's);
  * ``hopper``: the single-task hopper-sized model (``scripts/cfg/alg/pwm.yaml``, obs 11, action 3).
The project's action is ``PolicyLearner.act(obs, task)``; the reference's is the body of
``PWM.act`` (``tanh(actor(wm.encode(obs, task), deterministic))``) without its numpy->tensor
conversion and ``.cpu().flatten()``. Weights are copied project -> reference with strict
``load_state_dict`` (so every layer's shape must match) and the two actions are compared.

Timing: after ``--warmup`` calls of each, ``--rounds`` rounds alternate the two sides (the order
flips every round), ``--calls`` individually timed calls per side per round; the table gives the
median per call over all rounds, for each of ``--threads`` torch thread counts.

    python benchmarks/pwm_action.py --reference /path/to/PWM [--threads 1 2] [--calls 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import platform
import statistics
import sys
import time
import types
from pathlib import Path

import torch
from omegaconf import OmegaConf

from pwm.agent import load_hparams
from pwm.envs.suites import TASK_SETS
from pwm.policy_learning import PolicyLearner
from pwm.world_model import WorldModel, WorldModelConfig
from pwm.world_model_training import single_task_config

MT30_TASK_DIM = 64  # scripts/train_multitask.py: task_dim = 96 if mt80 data else 64
HOPPER_DIMS = (11, 3)  # dflex / pwm.envs.diff hopper: obs 11, action 3
TASK = 1  # walker-walk's id in mt30


def import_reference(ref_dir: Path) -> types.SimpleNamespace:
    """The reference's ``pwm.models.{actor,mlp,world_model}`` modules, with the project's ``pwm`` restored."""
    src = ref_dir / "src"
    if not (src / "pwm" / "models" / "actor.py").is_file():
        sys.exit(f"{ref_dir} is not a checkout of github.com/imgeorgiev/PWM (no src/pwm/models/actor.py)")
    ours = {k: v for k, v in sys.modules.items() if k == "pwm" or k.startswith("pwm.")}
    for k in ours:
        del sys.modules[k]
    sys.path.insert(0, str(src))
    try:
        mods = {n: importlib.import_module(f"pwm.models.{n}") for n in ("actor", "mlp", "world_model")}
    except ImportError as e:
        sys.exit(f"importing the reference failed: {e} (install what it names; it needs torch, hydra-core, functorch)")
    finally:
        sys.path.remove(str(src))
        for k in [k for k in sys.modules if k == "pwm" or k.startswith("pwm.")]:
            del sys.modules[k]
        sys.modules.update(ours)
    for m in mods.values():
        if not Path(m.__file__).resolve().is_relative_to(src.resolve()):
            sys.exit(f"reference module {m.__name__} resolved to {m.__file__}, not under {src}")
    return types.SimpleNamespace(**mods)


def reference_layer_kwargs(ref, spec) -> dict:
    """A world-model part's ``last_layer``/``last_layer_kwargs`` with hydra's ``act`` node built by hand."""
    kwargs = OmegaConf.to_container(spec.last_layer_kwargs)
    act = kwargs.get("act")
    if isinstance(act, dict):  # {_target_: pwm.models.mlp.SimNorm, simnorm_dim: 8}
        target = act.pop("_target_")
        if not target.startswith("pwm.models.mlp."):
            sys.exit(f"unexpected activation target {target}")
        kwargs["act"] = getattr(ref.mlp, target.rsplit(".", 1)[1])(**act)
    return {"last_layer": spec.last_layer, "last_layer_kwargs": kwargs}


def build_reference(ref, alg, obs_dim, action_dim, tasks=None, action_dims=None, task_dim=0):
    """The reference's world model and actor as ``PWM.__init__`` instantiates them from ``alg``."""
    w = alg.world_model_config
    wm = ref.world_model.WorldModel(
        observation_dim=obs_dim,
        action_dim=action_dim,
        latent_dim=int(alg.latent_dim),
        units=list(w.units),
        encoder_units=list(w.encoder_units),
        encoder=reference_layer_kwargs(ref, w.encoder),
        dynamics=reference_layer_kwargs(ref, w.dynamics),
        reward=reference_layer_kwargs(ref, w.reward),
        action_dims=action_dims,
        num_bins=w.num_bins,
        vmin=w.vmin,
        vmax=w.vmax,
        multitask=tasks is not None,
        tasks=tasks,
        task_dim=task_dim,
    )
    a = {k: v for k, v in OmegaConf.to_container(alg.actor_config).items() if k != "_target_"}
    if alg.actor_config._target_ != "pwm.models.actor.ActorStochasticMLP":
        sys.exit(f"unexpected actor {alg.actor_config._target_}")
    actor = ref.actor.ActorStochasticMLP(obs_dim=int(alg.latent_dim), action_dim=action_dim, **a)
    return wm.eval(), actor.eval()


def build_pair(ref, ref_dir: Path, name: str):
    """(project learner, reference wm, reference actor, obs, task, notes) for one model."""
    hp = load_hparams({})
    if name == "mt30-5M":
        table = TASK_SETS["mt30"]
        obs_dim, action_dim = max(o for _, o, _ in table), max(a for _, _, a in table)
        action_dims = tuple(a for _, _, a in table)
        cfg = WorldModelConfig.for_model_size(5, obs_dim, action_dim, task_set="mt30", action_dims=action_dims)
        alg = OmegaConf.load(ref_dir / "scripts/cfg/alg/pwm_5M.yaml")
        ref_wm, ref_actor = build_reference(
            ref, alg, obs_dim, action_dim, [t for t, _, _ in table], list(action_dims), MT30_TASK_DIM
        )
        task, multitask = TASK, True
    else:
        obs_dim, action_dim = HOPPER_DIMS
        cfg = single_task_config(obs_dim, action_dim, hp)
        alg = OmegaConf.load(ref_dir / "scripts/cfg/alg/pwm.yaml")
        ref_wm, ref_actor = build_reference(ref, alg, obs_dim, action_dim)
        task, multitask = None, False
    wm = WorldModel(cfg).eval()
    learner = PolicyLearner(wm, hp, action_dim, multitask=multitask)
    learner.actor.eval()
    notes = []
    ours = (list(hp.actor_hidden), float(hp.actor_logstd_min), float(hp.actor_logstd_init))
    theirs = (list(alg.actor_config.units), float(alg.actor_config.min_logstd), float(alg.actor_config.init_logstd))
    if ours != theirs:
        notes.append(f"actor (hidden, logstd_min, logstd_init) differ: project {ours}, reference {theirs}")
    if str(alg.actor_config.activation_class) != "nn.Mish":
        notes.append(f"reference actor activation is {alg.actor_config.activation_class}, the project's is Mish")
    # Same weights on both sides; strict loading checks every layer's shape.
    ref_wm._encoder.load_state_dict(wm._encoder["state"].state_dict())
    if multitask:
        ref_wm._task_emb.load_state_dict(wm._task_emb.state_dict())
    ref_actor.load_state_dict({k.replace("mu.", "mu_net.", 1): v for k, v in learner.actor.state_dict().items()})
    obs = torch.randn(1, obs_dim)
    return learner, ref_wm, ref_actor, obs, task, notes


def reference_action(wm, actor, obs, task) -> torch.Tensor:
    """``PWM.act``'s body on a tensor: ``tanh(actor(wm.encode(obs, task), deterministic=True))``."""
    return torch.tanh(actor(wm.encode(obs, task), True))


def count(*modules) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


def timed(fn, calls: int) -> list[float]:
    times = []
    clock = time.perf_counter_ns
    for _ in range(calls):
        t = clock()
        fn()
        times.append(clock() - t)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, help="local checkout of github.com/imgeorgiev/PWM")
    parser.add_argument("--models", nargs="+", default=["mt30-5M", "hopper"], choices=["mt30-5M", "hopper"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per side per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    if args.reference is None:
        sys.exit(
            "--reference DIR is required: a local checkout of the reference PWM code, e.g.\n"
            "    git clone https://github.com/imgeorgiev/PWM /tmp/PWM\n"
            "    python benchmarks/pwm_action.py --reference /tmp/PWM"
        )
    ref = import_reference(args.reference.expanduser())
    torch.manual_seed(0)
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"load average before: {os.getloadavg()[0]:.2f}; median of {args.rounds} x {args.calls} calls per side",
        flush=True,
    )
    rows = []
    with torch.no_grad():
        for name in args.models:
            learner, ref_wm, ref_actor, obs, task, notes = build_pair(ref, args.reference, name)
            wm = learner.wm
            ours_n = count(wm._encoder, learner.actor) + (count(wm._task_emb) if wm.multitask else 0)
            theirs_n = count(ref_wm._encoder, ref_actor) + (count(ref_wm._task_emb) if ref_wm.multitask else 0)

            project = functools.partial(learner.act, obs, task)
            reference = functools.partial(reference_action, ref_wm, ref_actor, obs, task)
            diff = (project() - reference()).abs().max().item()
            print(
                f"# {name}: obs {wm.cfg.obs_dim}, action {wm.cfg.action_dim}, task_dim {wm.cfg.task_dim}, "
                f"latent {wm.cfg.latent_dim}; encoder+actor params project {ours_n:,} reference {theirs_n:,}; "
                f"max |action difference| {diff:.1e} (same weights)",
                flush=True,
            )
            for note in notes:
                print(f"# NOTE {name}: {note}", flush=True)
            for threads in args.threads:
                torch.set_num_threads(threads)
                timed(project, args.warmup)
                timed(reference, args.warmup)
                times = {"project": [], "reference": []}
                for r in range(args.rounds):
                    order = ("project", "reference") if r % 2 == 0 else ("reference", "project")
                    for side in order:
                        times[side] += timed(project if side == "project" else reference, args.calls)
                ours_ms, theirs_ms = (statistics.median(times[s]) / 1e6 for s in ("project", "reference"))
                rows.append((name, threads, ours_ms, theirs_ms))
    print("| what | threads | project ms | reference ms | project/reference |")
    print("|---|---|---|---|---|")
    for name, threads, ours_ms, theirs_ms in rows:
        print(f"| {name} action | {threads} | {ours_ms:.4f} | {theirs_ms:.4f} | {ours_ms / theirs_ms:.2f} |")
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()

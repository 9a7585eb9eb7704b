"""``pwm-bench landscape``: the policy objective through the simulator and through the world model,
for one differentiable task, a world model and policies (issue 21).

For the initial policy (a freshly initialised PWM actor, through the given pre-trained model) and
the actor of each given PWM run (by default through the run's own fine-tuned model, the one it was
optimised through and acts with: ``run_models``), from the same ``start_states`` start states of
the task; and the same for each ablated world model
(for example one pre-trained without SimNorm, ``wm_latent_norm``) with the actors of the PWM runs
trained on it (an actor acts on its own model's latents, so each model brings its own runs):

- ``landscape_gradients.csv``: per (world model, policy, horizon, side) the mean H-step discounted return, the
  norm of its gradient in the actor's parameters, the variance of the per-start-state gradients,
  the roughness of the 1-D slice, and the cosine between the world model's and the simulator's
  gradients;
- ``landscape_slices.csv``: the 1-D slices along one filter-normalised direction per policy (the
  same direction on both sides and every horizon), ``alpha`` in [-1, 1];
- ``landscape_grid.csv``: the 2-D slices (two directions) at ``grid_horizon``;
- ``landscape.{pdf,png}``: per policy, the slices, the two contour maps and the gradient statistics
  against horizon;
- ``landscape_table.md``: the gradient statistics side by side (simulator / world model), one row
  per (world model, policy, horizon), for a paper's or a note's table.

Both sides use the simulator's reward units (the world model's reward converted back from its
``reward_units``) and the same discount; the policy acts on the world model's encoding of the real
observation in the simulator and on the imagined latents in the model. The simulator side stops
counting rewards after an episode ends (a hopper's fall); the model has no termination head, so by
default (``model_terminations="simulator"``) its rewards are masked where the simulator's episode
from the same start state under the same parameters has ended, as single-task PWM uses the real
envs' dones; ``"none"`` leaves them unmasked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pwm import atomic, rng
from pwm.landscape import (
    cosine,
    filter_normalized_direction,
    gradient_statistics,
    roughness,
    simulator_alive,
    simulator_objective,
    slice_1d,
    slice_2d,
    world_model_objective,
)

DEFAULT_MODEL = "experiment"  # the ``world_model`` label of the experiment's own model
KEY_COLUMNS = ["task", "world_model", "policy", "horizon", "side"]  # every CSV's row identity
GRADIENT_COLUMNS = [
    *KEY_COLUMNS,
    "objective",
    "gradient_norm",
    "gradient_variance",
    "roughness",
    "cosine_model_simulator",
]
SIDES = ("simulator", "world model")


def raw_reward(rew_rms, units: str):
    """The world model's reward (in ``units``) -> the simulator's units."""
    from pwm.math import symexp

    if units == "rms":
        return lambda r: r * rew_rms.std().to(r.dtype) + rew_rms.mean.to(r.dtype)
    return symexp


def run_policy(run_dir: Path, pretrained, rew_rms, units: str, learner_factory, run_models: str):
    """``(actor, world model, reward to raw units)`` of a PWM run's checkpoint.pt (read as data only).

    ``run_models="own"``: the world model and reward statistics the run had fine-tuned online when
    it saved the actor (the model the actor was optimised through, and whose encoder it acts on);
    ``"pretrained"``: the pre-trained model every run started from."""
    import copy

    from pwm.policy_learning import freeze
    from pwm.signing import load_data

    path = Path(run_dir) / "checkpoint.pt"
    if not path.is_file():
        raise ValueError(f"{run_dir}: no checkpoint.pt (a PWM run directory has one once it has evaluated)")
    payload = load_data(path, what="run checkpoint")["payload"]
    if "learner" not in payload or "wm" not in payload:
        raise ValueError(f"{path}: not a single-task PWM run's checkpoint (no learner / wm entries)")
    wm, stats = pretrained, rew_rms
    if run_models == "own":
        wm, stats = copy.deepcopy(pretrained), copy.deepcopy(rew_rms)
        try:
            wm.load_state_dict(payload["wm"])
        except RuntimeError as err:
            raise ValueError(f"{path}: its world model does not fit the given world_model.pt: {err}") from None
        if payload.get("rew_rms") is not None:
            stats.load_state_dict(payload["rew_rms"])
        wm = freeze(wm.eval())
    learner = learner_factory(wm)
    learner.load_state_dict(payload["learner"])
    return learner.actor, wm, raw_reward(stats, units)


def parse_ablation(text: str) -> tuple[str, tuple[str, list[str]]]:
    """``NAME=WORLD_MODEL[,RUN_DIR...]`` (the ``--ablation`` option) -> ``(NAME, (WORLD_MODEL, [RUN_DIR...]))``."""
    name, sep, rest = text.partition("=")
    paths = [p for p in rest.split(",") if p]
    if not sep or not name or not paths or name == DEFAULT_MODEL:
        raise ValueError(
            f"--ablation {text!r}: expected NAME=WORLD_MODEL[,RUN_DIR...] with a NAME other than {DEFAULT_MODEL!r}"
        )
    return name, (paths[0], paths[1:])


def landscape(
    task: str,
    world_model: str | Path,
    runs: list[str | Path],
    out_dir: str | Path,
    horizons: list[int],
    start_states: int = 16,
    points: int = 21,
    grid: int = 11,
    grid_horizon: int | None = None,
    gamma: float = 0.99,
    seed: int = 0,
    hparams: dict | None = None,
    model_terminations: str = "simulator",
    ablations: dict[str, tuple[str | Path, list[str | Path]]] | None = None,
    run_models: str = "own",
) -> pd.DataFrame:
    """Every CSV row is labelled with its world model: ``experiment`` for ``world_model`` and
    ``runs``, else the name of its entry in ``ablations`` (name -> (world model, runs on it)).
    Every model sees the same start states, directions' seed and initial-actor seed."""
    from pwm.agent import load_hparams
    from pwm.envs.batched import make_batched_env
    from pwm.policy_learning import PolicyLearner, freeze
    from pwm.singletask_pretrain import load_world_model

    if run_models not in ("own", "pretrained"):
        raise ValueError(f"run_models must be 'own' or 'pretrained', got {run_models!r}")
    if model_terminations not in ("simulator", "none"):
        raise ValueError(f"model_terminations must be 'simulator' or 'none', got {model_terminations!r}")
    if not horizons or min(horizons) < 1:
        raise ValueError(f"horizons must be positive integers, got {horizons}")
    if points < 3 or grid < 2:
        raise ValueError(f"points must be >= 3 and grid >= 2, got {points} and {grid}")
    grid_horizon = grid_horizon or horizons[len(horizons) // 2]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_hparams(hparams or {})
    models = {DEFAULT_MODEL: (world_model, list(runs)), **(ablations or {})}
    loaded = {}
    env = make_batched_env(task, start_states, seed=seed)
    for label, (path, model_runs) in models.items():  # every file is read and checked before any long work
        wm, rew_rms, units = load_world_model(path)
        if (env.obs_dim, env.act_dim) != (wm.cfg.obs_dim, wm.cfg.action_dim):
            raise ValueError(f"{path} (obs {wm.cfg.obs_dim}, act {wm.cfg.action_dim}) does not fit {task}")
        wm = freeze(wm.eval())

        def new_learner(model):
            return PolicyLearner(model, cfg, env.act_dim, multitask=False)

        rng.seed_all(seed)  # the same initial actor's draw for every model
        policies = [("initial", new_learner(wm).actor, wm, raw_reward(rew_rms, units))]
        policies += [
            (Path(r).name, *run_policy(Path(r), wm, rew_rms, units, new_learner, run_models)) for r in model_runs
        ]
        loaded[label] = policies
    obs0 = env.reset()
    start = env.get_state()
    alphas = np.linspace(-1.0, 1.0, points)
    betas = np.linspace(-1.0, 1.0, grid)
    gradients, slices, grids = [], [], []
    for label, policies in loaded.items():
        rows = measure_model(
            f"{task} {label}", env, start, obs0, policies, horizons, alphas, betas, grid_horizon, gamma, seed,
            model_terminations,
        )  # fmt: skip
        for collected, new in zip((gradients, slices, grids), rows):
            collected += [[task, label, *row] for row in new]
    env.close()
    table = pd.DataFrame(gradients, columns=GRADIENT_COLUMNS)
    slice_table = pd.DataFrame(slices, columns=[*KEY_COLUMNS, "alpha", "value"])
    grid_table = pd.DataFrame(grids, columns=[*KEY_COLUMNS, "alpha", "beta", "value"])
    atomic.write_csv(out / "landscape_gradients.csv", table)
    atomic.write_csv(out / "landscape_slices.csv", slice_table)
    atomic.write_csv(out / "landscape_grid.csv", grid_table)
    atomic.write_text(out / "landscape_table.md", summary_table(table))
    plot_landscape(table, slice_table, grid_table, out / "landscape")
    return table


def summary_table(gradients: pd.DataFrame) -> str:
    """Markdown: per (world model, policy, horizon) each statistic as ``simulator / world model``."""
    columns = [("objective", "objective"), ("gradient_norm", "gradient norm"),
               ("gradient_variance", "per-state gradient variance"), ("roughness", "slice roughness")]  # fmt: skip
    head = ["world model", "policy", "H", *(f"{label} sim / model" for _, label in columns), "cosine"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    keys = ["world_model", "policy", "horizon"]
    for (model, policy, horizon), rows in gradients.groupby(keys, sort=False):
        side = rows.set_index("side")
        cells = [f"{side.at['simulator', c]:.4g} / {side.at['world model', c]:.4g}" for c, _ in columns]
        cosine_value = side.at["simulator", "cosine_model_simulator"]
        lines.append("| " + " | ".join([model, policy, str(horizon), *cells, f"{cosine_value:.2f}"]) + " |")
    return "\n".join(lines) + "\n"


def measure_model(
    label,
    env,
    start,
    obs0,
    policies,
    horizons,
    alphas,
    betas,
    grid_horizon,
    gamma,
    seed,
    model_terminations,
) -> tuple[list, list, list]:
    """One world model's rows (without task and model label): gradient statistics, 1-D and 2-D slices.
    ``policies``: ``(name, actor, world model, reward to raw units)``, each actor with its model."""
    gradients, slices, grids = [], [], []
    for name, actor, wm, to_raw in policies:
        params = [p for p in actor.parameters() if p.requires_grad]
        directions = torch.Generator().manual_seed(seed)
        d1 = filter_normalized_direction(params, directions)
        d2 = filter_normalized_direction(params, directions)
        for horizon in horizons:

            def sim_policy(o, a=actor, wm=wm):
                return a(wm.encode(o), deterministic=True)

            alive = None
            if model_terminations == "simulator":

                def alive(h=horizon, policy=sim_policy):
                    return simulator_alive(env, start, policy, h)

            objectives = {
                "simulator": simulator_objective(env, start, sim_policy, horizon, gamma),
                "world model": world_model_objective(
                    wm, obs0, lambda z, a=actor: a(z, deterministic=True), to_raw, horizon, gamma, alive
                ),
            }
            stats = {side: gradient_statistics(f, params) for side, f in objectives.items()}
            similarity = cosine(stats["world model"]["gradient"], stats["simulator"]["gradient"])
            for side, objective in objectives.items():
                values = slice_1d(objective, params, d1, alphas)
                slices += [[name, horizon, side, a, v] for a, v in zip(alphas, values)]
                s = stats[side]
                gradients.append(
                    [name, horizon, side, s["objective"], s["gradient_norm"], s["gradient_variance"],
                     roughness(values), similarity]
                )  # fmt: skip
                if horizon == grid_horizon:
                    values2 = slice_2d(objective, params, d1, d2, betas, betas)
                    grids += [
                        [name, horizon, side, a, b, values2[i, j]]
                        for i, a in enumerate(betas)
                        for j, b in enumerate(betas)
                    ]
            print(
                f"[landscape] {label} {name} H{horizon}: objective sim {stats['simulator']['objective']:.3f} "
                f"model {stats['world model']['objective']:.3f}, gradient norm sim "
                f"{stats['simulator']['gradient_norm']:.4g} model {stats['world model']['gradient_norm']:.4g}, "
                f"cosine {similarity:.3f}",
                flush=True,
            )
    return gradients, slices, grids


def plot_landscape(gradients: pd.DataFrame, slices: pd.DataFrame, grids: pd.DataFrame, stem) -> list[Path]:
    """One row per (world model, policy): 1-D slices (solid: simulator, dashed: world model; one
    colour per horizon), the 2-D maps of both sides, and gradient norm and cosine against horizon."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pwm.analysis.figures import save

    rows = list(dict.fromkeys(zip(gradients.world_model, gradients.policy)))
    labelled = gradients.world_model.nunique() > 1
    fig, axes = plt.subplots(len(rows), 4, figsize=(16, 3.4 * len(rows)), squeeze=False)
    for row, (model, policy) in zip(axes, rows):

        def of(table, model=model, policy=policy):
            return table[(table.world_model == model) & (table.policy == policy)]

        title = f"{model} model, {policy}" if labelled else policy
        stats, policy_slices, policy_grids = of(gradients), of(slices), of(grids)
        horizons = sorted(stats.horizon.unique())
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(horizons)))
        for colour, horizon in zip(colours, horizons):
            for side, style in zip(SIDES, ("-", "--")):
                s = policy_slices[(policy_slices.horizon == horizon) & (policy_slices.side == side)]
                row[0].plot(s.alpha, s.value, style, color=colour, label=f"H{horizon} {side}")
        row[0].set_title(f"{title}: 1-D slices", fontsize=9)
        row[0].set_xlabel("alpha (filter-normalised direction)")
        row[0].set_ylabel("H-step return")
        row[0].legend(fontsize=6, ncol=2)
        for ax, side in zip(row[1:3], SIDES):
            g = policy_grids[policy_grids.side == side]
            if g.empty:
                ax.axis("off")
                continue
            table = g.pivot(index="beta", columns="alpha", values="value")
            contour = ax.contourf(table.columns, table.index, table.values, levels=15, cmap="viridis")
            fig.colorbar(contour, ax=ax)
            ax.set_title(f"{title}: {side}, H{int(g.horizon.iloc[0])}", fontsize=9)
            ax.set_xlabel("alpha")
            ax.set_ylabel("beta")
        for side, style in zip(SIDES, ("o-", "s--")):
            s = stats[stats.side == side]
            row[3].semilogy(s.horizon, s.gradient_norm.clip(lower=1e-12), style, label=f"|grad| {side}")
        twin = row[3].twinx()
        c = stats[stats.side == SIDES[0]]
        twin.plot(c.horizon, c.cosine_model_simulator, "k:", label="cosine")
        twin.set_ylim(-1.05, 1.05)
        twin.set_ylabel("cosine(model, simulator)")
        row[3].set_xlabel("horizon")
        row[3].set_ylabel("gradient norm")
        row[3].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return save(fig, stem)

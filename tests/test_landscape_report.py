"""pwm-bench landscape on the differentiable cartpole with a tiny world model and one PWM run's
actor: the CSVs' shapes and columns, statistics consistent with the core functions, the figure."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import subprocess_env


@pytest.fixture(scope="module")
def model_and_run(tmp_path_factory):
    from pwm.agent import load_hparams
    from pwm.envs.diff import DiffEnv
    from pwm.policy_learning import PolicyLearner
    from pwm.run import Run, RunSettings
    from pwm.running_stats import RunningMeanStd
    from pwm.singletask_pretrain import save_world_model
    from pwm.world_model import WorldModel
    from pwm.world_model_training import single_task_config

    root = tmp_path_factory.mktemp("landscape")
    env = DiffEnv("cartpole", 1)
    torch.manual_seed(0)
    for name, norm in (("", "simnorm"), ("ablated_", "none")):  # the experiment's model and an ablation
        cfg = load_hparams({"wm_latent_dim": 16, "wm_enc_dim": 16, "wm_mlp_dim": 16, "wm_latent_norm": norm})
        wm = WorldModel(single_task_config(env.obs_dim, env.act_dim, cfg))
        with torch.no_grad():  # an untrained model's reward head is zero (TD-MPC2's init): give it a slope
            for p in wm.parameters():
                p.add_(0.2 * torch.randn_like(p))
        rew_rms = RunningMeanStd((1,))
        rew_rms.update(torch.randn(100, 1) * 2 + 1)
        save_world_model(root / f"{name}world_model.pt", wm, rew_rms, 0)
        learner = PolicyLearner(wm, cfg, env.act_dim, multitask=False)
        with torch.no_grad():
            for p in learner.actor.parameters():
                p.add_(0.3 * torch.randn_like(p))  # "trained": not the initial actor
            for p in wm.parameters():  # and "fine-tuned online": the run's model differs from the file's
                p.add_(0.05 * torch.randn_like(p))
        rew_rms.update(torch.randn(50, 1) + 3)
        save_world_model(root / f"{name}finetuned.pt", wm, rew_rms, 32)
        run_dir = str(root / f"{name}run")
        settings = RunSettings("pwm", "cartpole", 1, run_dir, steps=32, eval_every=32, eval_episodes=1)
        payload = {"learner": learner.state_dict(), "wm": wm.state_dict(), "rew_rms": rew_rms.state_dict()}
        Run(settings).save_checkpoint(32, payload)
    return root


def test_landscape_writes_slices_grids_and_gradient_statistics(model_and_run, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pwm.cli", "landscape", "--task", "cartpole", "--world-model",
           str(model_and_run / "world_model.pt"), "--run", str(model_and_run / "run"), "--out-dir", str(out),
           "--horizons", "2,4", "--start-states", "3", "--points", "5", "--grid", "3"]  # fmt: skip
    result = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    gradients = pd.read_csv(out / "landscape_gradients.csv")
    assert gradients[["policy", "horizon", "side"]].values.tolist() == [
        [p, h, s] for p in ("initial", "run") for h in (2, 4) for s in ("simulator", "world model")
    ]
    assert (gradients.gradient_norm > 0).all() and (gradients.gradient_variance >= 0).all()
    assert gradients.cosine_model_simulator.between(-1, 1).all()
    pairs = gradients.groupby(["policy", "horizon"]).cosine_model_simulator.nunique()
    assert (pairs == 1).all()  # one cosine per (policy, horizon), on both sides' rows
    slices = pd.read_csv(out / "landscape_slices.csv")
    assert len(slices) == 2 * 2 * 2 * 5 and sorted(slices.alpha.unique()) == pytest.approx(np.linspace(-1, 1, 5))
    at_zero = slices[slices.alpha == 0].set_index(["policy", "horizon", "side"]).value
    expected = gradients.set_index(["policy", "horizon", "side"]).objective
    np.testing.assert_allclose(at_zero.loc[expected.index], expected, rtol=1e-5)  # alpha 0 = the policy itself
    grid = pd.read_csv(out / "landscape_grid.csv")
    assert set(grid.horizon) == {4} and len(grid) == 2 * 2 * 9  # the middle horizon by default
    assert (out / "landscape.pdf").stat().st_size > 1000 and (out / "landscape.png").exists()
    table = (out / "landscape_table.md").read_text().splitlines()
    assert len(table) == 2 + 2 * 2  # header, rule, one row per (policy, horizon)
    row = gradients[(gradients.policy == "run") & (gradients.horizon == 4)].set_index("side")
    norms = f"{row.at['simulator', 'gradient_norm']:.4g} / {row.at['world model', 'gradient_norm']:.4g}"
    assert table[-1].startswith("| experiment | run | 4 | ") and f"| {norms} |" in table[-1]


def test_an_ablated_world_model_brings_its_own_runs_and_leaves_the_experiments_rows_unchanged(model_and_run, tmp_path):
    common = [sys.executable, "-m", "pwm.cli", "landscape", "--task", "cartpole", "--world-model",
              str(model_and_run / "world_model.pt"), "--run", str(model_and_run / "run"), "--horizons", "2",
              "--start-states", "3", "--points", "3", "--grid", "2"]  # fmt: skip
    ablation = f"no-norm={model_and_run / 'ablated_world_model.pt'},{model_and_run / 'ablated_run'}"
    alone, both = tmp_path / "alone", tmp_path / "both"
    for out, extra in ((alone, []), (both, ["--ablation", ablation])):
        result = subprocess.run(
            [*common, "--out-dir", str(out), *extra], env=subprocess_env(), capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stdout + result.stderr
    gradients = pd.read_csv(both / "landscape_gradients.csv")
    assert gradients[["world_model", "policy", "side"]].values.tolist() == [
        [m, p, s] for m, r in (("experiment", "run"), ("no-norm", "ablated_run")) for p in ("initial", r)
        for s in ("simulator", "world model")
    ]  # fmt: skip
    experiment = gradients[gradients.world_model == "experiment"].reset_index(drop=True)
    pd.testing.assert_frame_equal(experiment, pd.read_csv(alone / "landscape_gradients.csv"))
    ablated = gradients[gradients.world_model == "no-norm"].reset_index(drop=True)
    assert not np.allclose(ablated.gradient_norm, experiment.gradient_norm)  # another model, other actors
    slices = pd.read_csv(both / "landscape_slices.csv")
    assert set(slices.world_model) == {"experiment", "no-norm"} and len(slices) == 2 * 2 * 2 * 3

    result = subprocess.run(
        [*common, "--out-dir", str(tmp_path / "bad"), "--ablation", "no-norm"],
        env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 3 and "--ablation 'no-norm': expected NAME=WORLD_MODEL[,RUN_DIR...]" in result.stderr


def test_a_runs_actor_is_measured_through_its_own_fine_tuned_model_by_default(model_and_run, tmp_path):
    """``run_models="own"`` equals giving the run's fine-tuned model as the world model (an
    independent path); ``"pretrained"`` measures the same actor through the pre-trained file."""
    from pwm.landscape_report import landscape

    def rows(world_model, run_models):
        table = landscape("cartpole", model_and_run / world_model, [model_and_run / "run"], tmp_path / run_models,
                          [2], start_states=2, points=3, grid=2, run_models=run_models)  # fmt: skip
        return table.set_index(["policy", "side"]).drop(columns="task")

    own, pretrained = rows("world_model.pt", "own"), rows("world_model.pt", "pretrained")
    through_finetuned = rows("finetuned.pt", "pretrained")
    pd.testing.assert_frame_equal(own.loc["run"], through_finetuned.loc["run"])
    pd.testing.assert_frame_equal(own.loc["initial"], pretrained.loc["initial"])
    assert not np.allclose(own.loc["run"].gradient_norm, pretrained.loc["run"].gradient_norm)
    with pytest.raises(ValueError, match="run_models must be 'own' or 'pretrained', got 'latest'"):
        landscape("cartpole", model_and_run / "world_model.pt", [], tmp_path, [2], run_models="latest")


def test_bad_input_is_refused_before_work(model_and_run, tmp_path):
    common = [sys.executable, "-m", "pwm.cli", "landscape", "--task", "cartpole", "--out-dir", str(tmp_path)]
    result = subprocess.run(
        [*common, "--world-model", str(model_and_run / "world_model.pt"), "--run", str(tmp_path), "--horizons", "2"],
        env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 3 and "no checkpoint.pt" in result.stderr
    result = subprocess.run(
        [*common, "--world-model", str(model_and_run / "world_model.pt"), "--horizons", "2,x"],
        env=subprocess_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 3 and "--horizons must be comma-separated integers" in result.stderr


def test_a_landscape_block_adds_the_rule_to_a_single_task_experiment(tmp_path):
    """The DAG: SHAC -> world model -> PWM seeds -> landscape of the task (the world model and both
    seeds' actors), and a landscape block without PWM's pipeline is refused before any job."""
    import copy

    from helpers import copy_workflow
    from test_single_task_workflow import SINGLE, snakemake

    config = copy.deepcopy(SINGLE)
    config["experiments"]["st"]["landscape"] = {
        "horizons": [2, 4], "start_states": 2, "points": 3, "grid": 2, "ablations": {"no-norm": "st-nonorm"}
    }  # fmt: skip
    pwm = copy.deepcopy(config["experiments"]["st"]["algorithms"]["pwm"])
    pwm["hparams"]["wm_latent_norm"] = "none"
    config["experiments"]["st-nonorm"] = {  # the ablation: its own world model (st's data) and PWM seed
        "kind": "single-task", "tasks": ["cartpole"], "seeds": [1], "algorithms": {"pwm": pwm},
        "world_model": {"collect_from": "st", "collect_seed": 2, "steps": 6, "checkpoint_every": 3},
    }  # fmt: skip
    workdir = copy_workflow(tmp_path)
    result = snakemake(workdir, config=config)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = workdir / "results" / "st" / "landscape" / "cartpole"
    gradients = pd.read_csv(out / "landscape_gradients.csv")
    assert list(dict.fromkeys(zip(gradients.world_model, gradients.policy))) == [
        ("experiment", "initial"), ("experiment", "seed1"), ("experiment", "seed2"),
        ("no-norm", "initial"), ("no-norm", "seed1"),
    ]  # fmt: skip
    assert (out / "landscape.png").exists()
    log = (workdir / "results" / "st" / "logs" / "landscape_cartpole.txt").read_text()
    assert "[landscape] cartpole experiment seed2 H4" in log and "[landscape] cartpole no-norm seed1 H4" in log
    nonorm = torch.load(workdir / "results" / "st-nonorm" / "world_models" / "cartpole" / "world_model.pt")
    assert nonorm["latent_norm"] == "none"

    config["experiments"]["st"]["landscape"]["ablations"] = {"no-norm": "st-nonrom"}
    result = snakemake(workdir, "-n", config=config)
    assert result.returncode != 0
    assert "experiments.st.landscape.ablations.no-norm='st-nonrom': not a single-task experiment with pwm" in (
        result.stdout + result.stderr
    )
    del config["experiments"]["st"]["landscape"]["ablations"]

    config["experiments"]["st"]["algorithms"].pop("pwm")
    result = snakemake(workdir, "-n", config=config)
    assert result.returncode != 0
    assert "experiments.st.landscape: needs kind single-task with pwm" in result.stdout + result.stderr

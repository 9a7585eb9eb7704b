"""PWM's single-task pipeline in the DAG: SHAC collection run -> one pre-trained world model per
task -> every PWM seed fine-tunes it; per-task budgets; config errors before any job starts."""

import re
import shutil
import sys

import pandas as pd
import pytest
import torch
import yaml

from helpers import PROJECT_ROOT, copy_workflow, run

TINY_PWM = {
    "num_envs": 4,
    "horizon": 4,
    "wm_latent_dim": 16,
    "wm_enc_dim": 16,
    "wm_mlp_dim": 16,
    "wm_segment": 8,
    "wm_iterations": 2,
    "wm_batch_size": 8,
    "critic_iterations": 1,
    "progress_every": 1,
}
SINGLE = {
    "aggregate": {"reps": 100, "seed": 0},
    "experiments": {
        "st": {
            "kind": "single-task",
            "tasks": ["cartpole"],
            "seeds": [1, 2],
            "world_model": {"collect_seed": 2, "steps": 6, "checkpoint_every": 3},
            "algorithms": {
                "shac": {
                    "steps": 256,
                    "eval_every": 128,
                    "eval_episodes": 1,
                    "hparams": {
                        "num_envs": 4,
                        "horizon": 8,
                        "dataset_envs": 4,
                        "dataset_segment": 16,
                        "critic_iterations": 2,
                    },
                },
                "pwm": {"steps": 32, "eval_every": 16, "eval_episodes": 1, "hparams": TINY_PWM},
            },
        }
    },
}


def snakemake(workdir, *args, config=SINGLE):
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir)


def job_counts(output: str) -> dict[str, int]:
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def test_single_task_pwm_from_nothing(tmp_path):
    workdir = copy_workflow(tmp_path)
    result = snakemake(workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    exp = workdir / "results" / "st"
    # One world model for the task, pre-trained on SHAC seed 2's rollouts (collect_seed).
    pretrain_log = (exp / "logs" / "pretrain_single_world_model_cartpole.txt").read_text()
    assert "runs/shac/cartpole/seed2/rollouts.pt" in pretrain_log
    assert "[pretrain-single] step 6/6" in pretrain_log
    model = exp / "world_models" / "cartpole" / "world_model.pt"
    assert torch.load(model, weights_only=True)["step"] == 6
    assert pd.read_csv(exp / "world_models" / "cartpole" / "losses.csv").step.tolist() == [1, 2, 3, 4, 5, 6]
    # Both PWM seeds load that model (no pre-training of their own) and fine-tune it online.
    for seed in (1, 2):
        run_dir = exp / "runs" / "pwm" / "cartpole" / f"seed{seed}"
        resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
        hparams = resolved.get("hparams", resolved)
        assert str(hparams["pretrained_world_model"]).endswith("results/st/world_models/cartpole/world_model.pt")
        assert str(hparams["offline_data"]).endswith("results/st/runs/shac/cartpole/seed2/rollouts.pt")
        log = (run_dir / "log.txt").read_text()
        assert "pre-training the world model" not in log and "wm_loss=" in log
        assert not (run_dir / "pretrain").exists()
    scores = pd.read_csv(exp / "scores.csv")
    assert sorted(scores.algo.unique()) == ["pwm", "shac"]
    assert sorted(scores[scores.algo == "pwm"].step.unique()) == [0, 16, 32]
    aggregates = pd.read_csv(exp / "aggregates.csv")
    assert set(aggregates.algo) == {"pwm", "shac"} and (aggregates.ci_low <= aggregates.ci_high).all()
    again = snakemake(workdir, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_paper_single_plans_per_task_data_pretraining_and_budgets(tmp_path):
    workdir = copy_workflow(tmp_path)
    result = run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "--configfile", "workflow/configs/paper-single.yaml"],
        cwd=workdir,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    counts = job_counts(out)
    assert counts["pretrain_single_world_model"] == 5 and counts["train_pwm"] == 25 and counts["train_shac"] == 25
    pretrain = {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"pwm-bench pretrain-single --task (\S+) --data \S+ --out \S+ --steps (\d+)", out)
    }
    assert pretrain == {"hopper": 50000, "ant": 100000, "quadruped": 100000, "humanoid": 200000, "muscle-legs": 200000}
    for task in pretrain:  # every task's data: that task's own SHAC collection run (seed 1)
        assert f"--data results/single-task/runs/shac/{task}/seed1/rollouts.pt" in out
    pwm_ant = re.search(r"pwm-bench train --algo pwm --task ant --seed 1 .*", out).group(0)
    assert "--steps 30720000" in pwm_ant and " num_envs=128 " in pwm_ant  # hparams travel as key=value
    assert "pretrained_world_model=results/single-task/world_models/ant/world_model.pt" in pwm_ant
    shac_hopper = re.search(r"pwm-bench train --algo shac --task hopper --seed 1 .*", out).group(0)
    assert "--steps 4096000" in shac_hopper and " preset=pwm " in shac_hopper


def broken(change):
    config = yaml.safe_load(yaml.safe_dump(SINGLE))
    change(config["experiments"]["st"])
    return config


@pytest.mark.parametrize(
    "change,message",
    [
        (
            lambda e: e["algorithms"]["pwm"].update(per_task={"cartpol": {"steps": 64}}),
            r"experiments.st.algorithms.pwm.per_task: 'cartpol' is not a task of this experiment \(did you mean cartpole\?\)",
        ),
        (
            lambda e: e["algorithms"]["pwm"].update(per_task={"cartpole": {"stpes": 64}}),
            r"experiments.st.algorithms.pwm.per_task.cartpole: unknown key 'stpes' \(did you mean steps\?\); allowed: "
            r"eval_episodes, eval_every, hparams, steps\n",
        ),
        (
            lambda e: e["algorithms"]["shac"].update(per_task={"cartpole": {"eval_every": 512}}),
            r"experiments.st.algorithms.shac.per_task.cartpole: eval_every=512 exceeds steps=256",
        ),
        (
            lambda e: e["world_model"].update(per_task={"hopper": {"steps": 5}}),
            r"experiments.st.world_model.per_task: 'hopper' is not a task of this experiment",
        ),
        (
            lambda e: e["world_model"].update(suite="mt30"),
            r"experiments.st.world_model: unknown key 'suite' .*; allowed: checkpoint, checkpoint_every, collect, ",
        ),
        (lambda e: e["world_model"].update(collect_seed=9), r"experiments.st.world_model.collect_seed=9 is not a seed"),
        (
            lambda e: e["algorithms"].pop("shac"),
            r"single-task PWM pre-trains its world model of cartpole on a SHAC run's rollouts, but shac is not among",
        ),
    ],
)
def test_bad_single_task_config_stops_the_dag(tmp_path, change, message):
    workdir = copy_workflow(tmp_path)
    result = snakemake(workdir, "-n", config=broken(change))
    assert result.returncode != 0
    assert re.search(message, result.stdout + result.stderr), (result.stdout + result.stderr)[-3000:]


def test_a_collect_budget_or_given_files_replace_the_shac_algorithm(tmp_path):
    workdir = copy_workflow(tmp_path)
    collect = broken(lambda e: e["world_model"].update(collect=e["algorithms"].pop("shac")))
    result = snakemake(workdir, "-n", config=collect)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    assert counts["train_shac"] == 1 and counts["pretrain_single_world_model"] == 1, counts  # seed 2 only
    given = broken(
        lambda e: (
            e["algorithms"].pop("shac"),
            e["world_model"].update(
                data={"cartpole": "/data/rollouts.pt"}, checkpoint={"cartpole": "/data/world_model.pt"}
            ),
        )
    )
    result = snakemake(workdir, "-n", "-p", "results/st/runs/pwm/cartpole/seed1/eval.csv", config=given)
    assert result.returncode != 0  # the given files do not exist: Snakemake names them before running
    assert "/data/world_model.pt" in result.stdout + result.stderr


def test_collect_from_takes_the_shac_runs_of_another_experiment(tmp_path):
    workdir = copy_workflow(tmp_path)
    config = yaml.safe_load(yaml.safe_dump(SINGLE))
    config["experiments"]["pwm-only"] = {
        "kind": "single-task",
        "tasks": ["cartpole"],
        "seeds": [1],
        "world_model": {"collect_from": "st", "collect_seed": 1, "steps": 3},
        "algorithms": {"pwm": SINGLE["experiments"]["st"]["algorithms"]["pwm"]},
    }
    result = snakemake(workdir, "-n", "-p", "results/pwm-only/runs/pwm/cartpole/seed1/eval.csv", config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert "--data results/st/runs/shac/cartpole/seed1/rollouts.pt --out results/pwm-only/world_models/cartpole" in out
    assert "results/pwm-only/runs/shac" not in out
    config["experiments"]["pwm-only"]["world_model"]["collect_from"] = "stt"
    result = snakemake(workdir, "-n", config=config)
    assert result.returncode != 0
    assert re.search(
        r"experiments.pwm-only.world_model.collect_from='stt' is not another single-task experiment "
        r"of this config \(did you mean st\?\)",
        result.stdout + result.stderr,
    ), result.stderr[-2000:]


def test_the_embedded_default_validates_and_trains_every_algorithm(tmp_path):
    workdir = copy_workflow(tmp_path)
    shutil.copy(PROJECT_ROOT / "config.yaml", workdir / "config.yaml")
    result = run([sys.executable, "-m", "snakemake", "-n", "-p"], cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    counts = job_counts(out)
    for rule in (
        "train_pwm",
        "train_shac",
        "train_sac",
        "train_ppo",
        "train_tdmpc2",
        "pretrain_single_world_model",
        "pretrain_world_model",
        "eval_tdmpc2",
    ):
        assert counts.get(rule, 0) >= 1, (rule, counts)
    assert "--algo pwm --task hopper" in out and "--algo pwm --task pendulum-spin" in out  # both PWM settings
    assert (
        "--data results/diff-small/runs/shac/hopper/seed1/rollouts.pt --out results/pwm-small/world_models/hopper"
        in out
    )

"""Every run writes manifest.json (code, packages, hardware, seeds, inputs, cost); collect gathers
provenance.csv and cost.csv; a figure whose runs mix code versions warns (issue 20, items 1-2)."""

import json
import os
import subprocess
import sys
from importlib import metadata

import pandas as pd
import pytest
import torch

from helpers import PROJECT_ROOT, run_to_end
from pwm.manifest import Manifest, input_hashes, read_manifest


def random_run(out, seed):
    run_to_end(
        [sys.executable, "-m", "pwm.cli", "train", "--algo", "random_policy", "--task", "cartpole-balance"]
        + ["--seed", str(seed), "--steps", "10", "--eval-every", "5", "--eval-episodes", "1", "--out", str(out)]
    )
    return out / "eval.csv"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return [random_run(root / f"seed{seed}", seed) for seed in (1, 2)]


def test_a_finished_run_has_a_complete_manifest(two_runs):
    manifest = read_manifest(two_runs[0].with_name("manifest.json"))
    assert manifest["run"] == {"algo": "random_policy", "task": "cartpole-balance", "seed": 1}
    assert manifest["settings"]["steps"] == 10 and manifest["settings"]["threads"] == 1
    assert manifest["seeds"] == {"run": 1, "evaluation": 1_000_001}
    assert manifest["packages"]["torch"] == torch.__version__
    assert manifest["packages"]["stable-baselines3"] == metadata.version("stable-baselines3")
    assert manifest["python"] == ".".join(map(str, sys.version_info[:3]))
    assert manifest["hardware"]["cpus"] == os.cpu_count() and manifest["hardware"]["gpu"] is None
    head = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert manifest["code"]["commit"] == head.stdout.strip()
        assert isinstance(manifest["code"]["dirty"], bool)
    assert manifest["status"] == "done" and len(manifest["attempts"]) == 1
    attempt, cost = manifest["attempts"][0], manifest["cost"]
    assert attempt["started"] <= attempt["ended"]
    assert cost["steps"] == 10 and cost["env_steps"] == 10 and cost["attempts"] == 1
    assert cost["wall_time_s"] > 0 and cost["cpu_time_s"] > 0 and cost["gpu_time_s"] == 0.0
    assert cost["peak_memory_mb"] > 50
    assert cost["steps_per_s"] == pytest.approx(10 / cost["wall_time_s"], rel=1e-3)


def test_the_workflow_rule_and_wildcards_are_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("PWM_BENCH_RULE", "train_sac")
    monkeypatch.setenv("PWM_BENCH_WILDCARDS", '{"exp": "e", "seed": "1", "task": "walker-walk"}')
    Manifest(tmp_path, {"algo": "sac"}).start({"device": "cpu"}, {}, {"run": 1})
    workflow = read_manifest(tmp_path / "manifest.json")["workflow"]
    assert workflow == {"rule": "train_sac", "wildcards": {"exp": "e", "seed": "1", "task": "walker-walk"}}


def test_an_input_files_hash_changes_when_the_file_does(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "chunk_0.pt").write_bytes(b"one")
    (tmp_path / "model.pt").write_bytes(b"weights")
    hparams = {"data_dir": str(data), "world_model": str(tmp_path / "model.pt"), "horizon": 16}
    before = input_hashes(hparams)
    assert before == {
        str(data / "chunk_0.pt"): "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed",  # sha256 "one"
        str(tmp_path / "model.pt"): __import__("hashlib").sha256(b"weights").hexdigest(),
    }
    (data / "chunk_0.pt").write_bytes(b"two")
    after = input_hashes(hparams)
    assert after[str(data / "chunk_0.pt")] != before[str(data / "chunk_0.pt")]
    assert after[str(tmp_path / "model.pt")] == before[str(tmp_path / "model.pt")]


def test_a_resumed_run_appends_an_attempt_and_sums_their_cpu(tmp_path):
    identity = {"algo": "x", "task": "cartpole-balance", "seed": 1}
    first = Manifest(tmp_path, identity)
    first.start({"device": "cpu", "threads": 1}, {}, {"run": 1})
    first.update_attempt()  # a checkpoint, then the attempt is killed
    cpu_first = read_manifest(tmp_path / "manifest.json")["attempts"][0]["cpu_time_s"]
    second = Manifest(tmp_path, identity)
    second.start({"device": "cpu", "threads": 1}, {}, {"run": 1})
    sum(i * i for i in range(200_000))  # some CPU work in the second attempt
    second.finish(wall_time_s=2.0, steps=4, env_steps=8, device="cpu")
    manifest = read_manifest(tmp_path / "manifest.json")
    assert [a["ended"] is None for a in manifest["attempts"]] == [True, False]
    cpus = [a["cpu_time_s"] for a in manifest["attempts"]]
    assert cpus[0] == cpu_first and manifest["cost"]["cpu_time_s"] == pytest.approx(sum(cpus), abs=2e-3)
    assert manifest["cost"]["attempts"] == 2 and manifest["cost"]["env_steps_per_s"] == 4.0
    Manifest(tmp_path, {**identity, "seed": 2}).start({"device": "cpu"}, {}, {"run": 2})  # another run: replaced
    assert len(read_manifest(tmp_path / "manifest.json")["attempts"]) == 1


def test_collect_writes_provenance_and_a_cost_table_that_sums_its_runs(tmp_path, two_runs):
    out = tmp_path / "scores.csv"
    log = run_to_end([sys.executable, "-m", "pwm.cli", "collect", *map(str, two_runs), "--out", str(out)])
    assert "WARNING" not in log
    provenance = pd.read_csv(tmp_path / "provenance.csv")
    assert provenance[["algo", "seed"]].values.tolist() == [["random_policy", 1], ["random_policy", 2]]
    assert provenance["code"].nunique() == 1 and provenance["packages"].nunique() == 1
    cost = pd.read_csv(tmp_path / "cost.csv")
    runs, total = cost[cost.task != "(all)"], cost[cost.task == "(all)"].iloc[0]
    manifests = [json.loads(r.with_name("manifest.json").read_text())["cost"] for r in two_runs]
    assert runs.wall_time_s.tolist() == [m["wall_time_s"] for m in manifests]
    for column in ("wall_time_s", "cpu_time_s", "steps", "env_steps"):
        assert total[column] == pytest.approx(runs[column].sum())
    assert total["runs"] == 2 and total["peak_memory_mb"] == runs.peak_memory_mb.max()


def test_a_figure_mixing_two_commits_warns_naming_the_runs(tmp_path, two_runs):
    runs = []
    for run in two_runs:
        copy = tmp_path / run.parent.name
        copy.mkdir()
        for name in ("eval.csv", "manifest.json"):
            (copy / name).write_bytes(run.with_name(name).read_bytes())
        runs.append(copy / "eval.csv")
    manifest = json.loads(runs[1].with_name("manifest.json").read_text())
    manifest["code"] = {"commit": "0123456789abcdef" * 2 + "01234567", "dirty": False, "diff_sha256": None}
    runs[1].with_name("manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "scores.csv"
    log = run_to_end([sys.executable, "-m", "pwm.cli", "collect", *map(str, runs), "--out", str(out)])
    assert "WARNING: the runs of one figure mix 2 code versions" in log
    assert "0123456789ab: random_policy/cartpole-balance/seed2" in log
    log = run_to_end(
        [sys.executable, "-m", "pwm.cli", "aggregate", str(out), "--out-dir", str(tmp_path / "agg"), "--reps", "50"]
    )
    assert "WARNING: the runs of one figure mix 2 code versions" in log and "seed1" in log and "seed2" in log


def test_the_experiments_world_model_pretraining_is_in_its_cost_table(tmp_path, two_runs):
    exp = tmp_path / "exp"
    job = Manifest(exp / "world_models" / "hopper", {"job": "pre-training", "out_dir": "x"})
    job.start({"device": "cpu", "threads": 1}, {"data": []}, {"run": 1})
    job.finish(None, steps=2000, env_steps=0, device="cpu")
    log = run_to_end(
        [sys.executable, "-m", "pwm.cli", "collect", *map(str, two_runs), "--out", str(exp / "scores.csv")]
    )
    assert "no manifest" not in log
    cost = pd.read_csv(exp / "cost.csv")
    row = cost[(cost.algo == "world model (pretrain-single)") & (cost.task == "hopper")].iloc[0]
    assert row.steps == 2000 and row.seed == 1
    assert "world model (pretrain-single)" in set(pd.read_csv(exp / "provenance.csv").algo)

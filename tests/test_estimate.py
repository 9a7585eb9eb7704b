"""pwm-bench estimate (issue 20, item 3): Snakemake's own plan of a config, each job's budget over
a measured (or piloted) throughput, and the basis of every figure."""

import json
import subprocess
import sys

import pytest

from helpers import PROJECT_ROOT
from pwm.estimate import Job, cost_records, estimate, format_table, parse_dry_run, plan
from pwm.manifest import MANIFEST_FORMAT


@pytest.fixture(scope="module")
def default_jobs():
    return plan(None, PROJECT_ROOT)


def test_the_plan_is_snakemakes_dag_of_the_config(default_jobs):
    stats = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--forceall"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout
    total = int(next(line.split()[-1] for line in stats.splitlines() if line.startswith("total")))
    assert len(default_jobs) == total - 1  # every job but `all`
    shac = [j for j in default_jobs if j.rule == "train_shac"]
    assert len(shac) == 4 and {j.steps for j in shac} == {204_800}
    assert {j.key for j in shac} == {("shac", "hopper"), ("shac", "cartpole")}
    pretrain = next(j for j in default_jobs if j.rule == "pretrain_world_model")
    assert pretrain.key == ("pretraining", None) and pretrain.has_input and pretrain.steps == 750


def manifest(root, name, run, steps, wall, cpu):
    path = root / name / "manifest.json"
    path.parent.mkdir(parents=True)
    cost = {"steps": steps, "wall_time_s": wall, "cpu_time_s": cpu}
    path.write_text(json.dumps({"format": MANIFEST_FORMAT, "run": run, "cost": cost}))


def test_each_job_is_its_budget_over_the_measured_rate_with_its_basis(tmp_path):
    manifest(tmp_path, "a", {"algo": "sac", "task": "cartpole-swingup", "seed": 1}, 1000, 10.0, 9.0)
    manifest(tmp_path, "b", {"algo": "sac", "task": "cartpole-swingup", "seed": 2}, 3000, 30.0, 27.0)
    manifest(tmp_path, "c", {"algo": "ppo", "task": "walker-walk", "seed": 1}, 500, 5.0, 5.0)
    manifest(tmp_path, "d", {"job": "pretraining", "out_dir": "x"}, 100, 50.0, 50.0)
    records = cost_records([tmp_path])
    jobs = [
        Job("train_sac", "", False, {"--algo": "sac", "--task": "cartpole-swingup", "--steps": "20000"}),
        Job(
            "train_ppo", "", False, {"--algo": "ppo", "--task": "cartpole-swingup", "--steps": "1000", "--threads": "2"}
        ),
        Job("pretrain_world_model", "", True, {"--steps": "400"}),
        Job("train_tdmpc2", "", False, {"--algo": "tdmpc2", "--task": "mw-reach", "--steps": "100"}),
        Job("collect", "", True, {}),
    ]
    rows = {r.rule: r for r in estimate(jobs, records)}
    assert rows["train_sac"].wall_h == pytest.approx(20000 / 100 / 3600)  # 4000 steps in 40 s
    assert rows["train_sac"].cpu_h == pytest.approx(0.9 * 200 / 3600)
    assert rows["train_sac"].basis == "measured: 2 sac on cartpole-swingup"
    assert rows["train_ppo"].basis == "measured: 1 ppo on other tasks"
    assert rows["train_ppo"].core_h == pytest.approx(2 * 10 / 3600)
    assert rows["pretrain_world_model"].wall_h == pytest.approx(200 / 3600)
    assert rows["train_tdmpc2"].unknown == 1 and rows["train_tdmpc2"].wall_h == 0
    assert rows["collect"].basis.startswith("fixed")
    table = format_table(list(rows.values()), cores=2)
    assert "1 jobs have no basis and are not counted" in table


def test_a_pilot_measures_a_job_without_a_record(default_jobs):
    random_job = next(j for j in default_jobs if j.rule == "train_random_policy")
    rows = estimate([random_job], {}, pilot_seconds=12)
    assert rows[0].basis == "pilot: the whole job" and rows[0].wall_h > 0  # it ends within 12 s


def test_parse_dry_run_reads_rules_commands_and_inputs():
    text = """
rule train_sac:
    input: a.csv
    output: results/x/eval.csv
Shell command: pwm-bench train --algo sac --task walker-walk --steps 5000 --threads 2 >> log.txt 2>&1

localrule collect:
    output: results/x/scores.csv
Shell command: pwm-bench collect a --out b > log 2>&1
"""
    jobs = parse_dry_run(text)
    assert [(j.rule, j.steps, j.threads, j.has_input) for j in jobs] == [
        ("train_sac", 5000, 2, True),
        ("collect", None, 1, False),
    ]

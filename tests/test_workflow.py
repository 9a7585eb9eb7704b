"""The Snakemake workflow: config validation at DAG build time and one real end-to-end run."""

import re
import sys

import pandas as pd
import pytest
import yaml

from helpers import PROJECT_ROOT, copy_workflow, run

TINY = {
    "aggregate": {"reps": 200, "seed": 0},
    "experiments": {
        "tiny": {
            "kind": "single-task",
            "tasks": ["cartpole-balance"],
            "seeds": [1, 2],
            "algorithms": {
                "sac": {
                    "steps": 300,
                    "eval_every": 150,
                    "eval_episodes": 1,
                    "hparams": {"learning_starts": 100, "batch_size": 64},
                },
                "ppo": {
                    "steps": 256,
                    "eval_every": 128,
                    "eval_episodes": 1,
                    "hparams": {"n_steps": 128, "batch_size": 64, "n_epochs": 2},
                },
                "random_policy": {"steps": 100, "eval_every": 100, "eval_episodes": 1},
            },
        }
    },
}


def snakemake(workdir, *args, config=TINY):
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=workdir)


@pytest.fixture
def workdir(tmp_path):
    return copy_workflow(tmp_path)


def broken(change):
    config = yaml.safe_load(yaml.safe_dump(TINY))
    change(config["experiments"]["tiny"])
    return config


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda e: e.update(seeds=[1, "two"]), r"experiments.tiny.seeds\[1\]: 'two' is not of type 'integer'\n"),
        (
            lambda e: e["algorithms"]["sac"].pop("steps"),
            r"experiments.tiny.algorithms.sac: 'steps' is a required property\n",
        ),
        (
            lambda e: e.update(kind="multi"),
            r"experiments.tiny.kind: 'multi' is not one of \['single-task', 'multitask'\]\n",
        ),
        (
            lambda e: e.update(tasks=["cartpole-balanse"]),
            r"unknown task 'cartpole-balanse' at experiments.tiny.tasks\[0\]; close matches: cartpole-balance",
        ),
        (
            lambda e: e["algorithms"].update(sacc={"steps": 1, "eval_every": 1}),
            r"unknown algorithm 'sacc' at experiments.tiny.algorithms \(did you mean sac\b.*\?\); allowed: ppo, [a-z0-9_, ]*random_policy, sac\b",
        ),
        (lambda e: e["algorithms"]["ppo"].update(eval_every=1000), r"eval_every=1000 exceeds steps=256"),
        (
            lambda e: e["algorithms"].update(shac={"steps": 10, "eval_every": 5}),
            r"algorithm 'shac' cannot train on task 'cartpole-balance' of experiment 'tiny': it needs tasks "
            r"of family differentiable or dflex, and 'cartpole-balance' is dm_control",
        ),
    ],
)
def test_bad_config_stops_the_dag(workdir, change, message):
    result = snakemake(workdir, "-n", config=broken(change))
    assert result.returncode != 0
    assert pytest.importorskip("re").search(message, result.stdout + result.stderr), result.stderr


CONFIG_TEXT = """\
experiments:
  tiny:
    kind: single-task
    tasks: [cartpole-balance]
    seeds: [1]
    algorithms:
      random_policy: {steps: 100, eval_every: 100, eval_episodes: 1}
"""
DUPLICATE = CONFIG_TEXT.replace("    seeds: [1]\n", "    seeds: [1]\n    seeds: [2]\n").encode()


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "my.yaml",
            DUPLICATE,
            r"{path}, line 6, column 5: duplicate key 'seeds' \(first at line 5\); YAML would "
            r"silently keep only the last value\n",
        ),
        ("config.yaml", DUPLICATE, r"{path}, line 6, column 5: duplicate key 'seeds'"),
        (
            "config.yaml",
            CONFIG_TEXT.replace("[cartpole-balance]", "[cartpole-balance").encode(),
            r"{path}, line 5, column 10: YAML syntax error: expected ',' or '\]', but got ':' \(while parsing a flow "
            r"sequence that starts at line 4, column 12\)\n",
        ),
        (
            "my.yaml",
            (CONFIG_TEXT + "agregate: {reps: 10}\n").encode(),
            r"config: unknown key 'agregate' \(did you mean aggregate\?\); allowed: aggregate, device, experiments, "
            r"paper, results\n",
        ),
        (
            "config.yaml",
            CONFIG_TEXT.replace("kind: single-task", "kind: single-t\xe2che").encode("latin-1"),
            r"{path}, line 3, column 19: not UTF-8 text \(byte 0xe2\); save the file as UTF-8\n",
        ),
    ],
)
def test_config_file_errors_name_the_file_line_and_column(workdir, name, text, message):
    """A duplicate key, a YAML syntax error (of the embedded config.yaml: snakemake's command line
    refuses a --configfile's before the Snakefile runs), an unknown key and a non-UTF-8 file each
    stop `snakemake -n` with one line that says where."""
    (workdir / name).write_bytes(text)
    args = ["-n"] if name == "config.yaml" else ["-n", "--configfile", str(workdir / name)]
    result = run([sys.executable, "-m", "snakemake", "--cores", "1", *args], cwd=workdir)
    assert result.returncode != 0
    path = "config.yaml" if name == "config.yaml" else str(workdir / name)
    out = result.stdout + result.stderr
    assert re.search(message.replace("{path}", re.escape(path)), out), out[-3000:]


def test_dry_run_plans_every_run(workdir):
    result = snakemake(workdir, "-n")
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    for rule, count in [("train_sac", 2), ("train_ppo", 2), ("train_random_policy", 2), ("aggregate", 1)]:
        assert any(line.split()[:2] == [rule, str(count)] for line in out.splitlines()), out


def test_suite_names_expand_to_their_tasks(workdir):
    config = broken(
        lambda e: e.update(tasks=["mt30", "walker-walk"], algorithms={"sac": {"steps": 2, "eval_every": 1}})
    )
    result = snakemake(workdir, "-n", config=config)
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert any(line.split()[:2] == ["train_sac", "60"] for line in out.splitlines()), out  # 30 tasks x 2 seeds
    assert "pendulum-spin" in out and "mw-assembly" not in out


def test_end_to_end(workdir):
    result = snakemake(workdir)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    exp = workdir / "results" / "tiny"
    scores = pd.read_csv(exp / "scores.csv")
    assert list(scores.columns) == [
        "algo",
        "task",
        "seed",
        "step",
        "env_steps",
        "wall_time_s",
        "episode_reward",
        "episode_success",
    ]
    assert sorted(scores.algo.unique()) == ["ppo", "random_policy", "sac"]
    assert sorted(scores[scores.algo == "sac"].step.unique()) == [0, 150, 300]
    assert scores.episode_reward.between(0, 1000).all() and scores.episode_reward.gt(0).any()
    aggregates = pd.read_csv(exp / "aggregates.csv")
    assert set(aggregates.metric) == {"iqm", "mean", "median", "optimality_gap"}
    assert len(aggregates) == 12 and (aggregates.ci_low <= aggregates.ci_high).all()
    profiles = pd.read_csv(exp / "profiles.csv")
    assert set(profiles.algo) == {"ppo", "random_policy", "sac"}
    for name in ["aggregates", "curves"]:
        assert (exp / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        assert (exp / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    log = (exp / "runs" / "sac" / "cartpole-balance" / "seed1" / "log.txt").read_text()
    assert "[progress] step" in log and "[eval] step 300/300" in log
    # Everything is up to date now: nothing left to run.
    again = snakemake(workdir, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
    # The report bundles every figure of the run, under the workflow's own description.
    report = snakemake(workdir, "--report", "report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    assert "Policy learning with multi-task World Models" in html
    for name in ("aggregates.png", "curves.png", "improvement.png"):
        assert name in html, name


def with_multitask(**world_model):
    """TINY plus a multitask experiment whose world model learns from tiny's SAC replay buffers."""
    config = yaml.safe_load(yaml.safe_dump(TINY))
    config["experiments"]["mt"] = {
        "kind": "multitask",
        "tasks": ["cartpole-balance"],
        "seeds": [1, 2],
        "world_model": {
            "suite": "mt30",
            "model_size": 1,
            "steps": 10,
            "checkpoint_every": 10,
            "collect_algo": "sac",
            "collect_from": "tiny",
            **world_model,
        },
        "algorithms": {"pwm": {"steps": 2, "eval_every": 1}},
    }
    return config


def test_world_model_data_from_another_experiments_sac_runs(workdir):
    result = snakemake(workdir, "-n", "results/mt/dataset/chunk_0.pt", config=with_multitask(collect_seed=2))
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "results/tiny/runs/sac/cartpole-balance/seed2/eval.csv" in out
    assert "results/mt/runs/sac" not in out and "train_tdmpc2" not in out
    counts = [line.split() for line in out.splitlines()]
    assert ["train_sac", "1"] in counts and ["build_dataset", "1"] in counts, out


@pytest.mark.parametrize(
    "change,message",
    [
        (
            dict(collect_from="tiyn"),
            r"collect_from='tiyn' is not another experiment of this config \(did you mean tiny\?\)",
        ),
        (dict(collect_algo="tdmpc2"), r"collect_from='tiny': that experiment does not run tdmpc2 \(collect_algo\)"),
        (dict(collect_seed=7), r"collect_seed=7 is not a seed of experiment 'tiny'"),
        (dict(collect_from=None), r"the dataset comes from sac runs, but sac is not among the experiment's algorithms"),
    ],
)
def test_bad_world_model_data_source_stops_the_dag(workdir, change, message):
    config = with_multitask(**change)
    if change.get("collect_from", "") is None:
        del config["experiments"]["mt"]["world_model"]["collect_from"]
    result = snakemake(workdir, "-n", config=config)
    assert result.returncode != 0
    assert pytest.importorskip("re").search(message, result.stdout + result.stderr), result.stderr[-2000:]


@pytest.mark.parametrize(
    "name,jobs",
    [
        ("paper-single", {"train_shac": 25, "train_pwm": 25, "train_tdmpc2": 25, "train_sac": 25, "train_ppo": 25}),
        (
            "paper-mt30",
            {"train_tdmpc2": 30, "build_dataset": 1, "pretrain_world_model": 1, "train_pwm": 300, "eval_tdmpc2": 300},
        ),
        ("paper-mt80", {"train_tdmpc2": 80, "pretrain_world_model": 1, "train_pwm": 800, "eval_tdmpc2": 800}),
    ],
)
def test_paper_configs_plan_their_whole_dag(tmp_path, name, jobs):
    workdir = copy_workflow(tmp_path)
    result = run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", f"workflow/configs/{name}.yaml"], cwd=workdir
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = {}
    for line in (result.stdout + result.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    for rule, count in jobs.items():
        assert counts.get(rule) == count, (rule, counts)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            CONFIG_TEXT.replace("[cartpole-balance]", "[cartpole-balance").encode(),
            r"{path}, line 5, column 10: YAML syntax error: expected ',' or '\]', but got ':'",
        ),
        (
            CONFIG_TEXT.replace("kind: single-task", "kind: single-t\xe2che").encode("latin-1"),
            r"{path}, line 3, column 19: not UTF-8 text \(byte 0xe2\)",
        ),
        (DUPLICATE, r"{path}, line 6, column 5: duplicate key 'seeds'"),
        (
            CONFIG_TEXT.replace("[cartpole-balance]", "[cartpole-balanse]").encode(),
            r"{path}: unknown task 'cartpole-balanse' at experiments.tiny.tasks\[0\]; close matches: cartpole-balance",
        ),
        (
            CONFIG_TEXT.replace("eval_every: 100,", "eval_every: 100, hparams: {seed_stepz: 1},").encode(),
            r"{path}: experiments.tiny.algorithms.random_policy",
        ),
    ],
)
def test_check_config_names_what_snakemake_cannot(tmp_path, text, message):
    """`pwm-bench check-config` reports what snakemake's command line refuses without a line number
    (a --configfile's syntax error or non-UTF-8 byte) with file, line and column, and runs the
    Snakefile's other checks (names, budgets, hyperparameters) too."""
    path = tmp_path / "my.yaml"
    path.write_bytes(text)
    result = run([sys.executable, "-m", "pwm.cli", "check-config", str(path)], cwd=tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert re.search(message.replace("{path}", re.escape(str(path))), result.stderr), result.stderr
    path.write_text(CONFIG_TEXT)
    result = run([sys.executable, "-m", "pwm.cli", "check-config", str(path)], cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"{path}: ok (1 experiments)", result.stderr


# Rules whose jobs compute on the configured device; the others (collect, aggregate, figures,
# build_dataset, the random policy) only read and write tables or step CPU simulators.
DEVICE_RULES = {
    "train_sac",
    "train_ppo",
    "train_shac",
    "train_tdmpc2",
    "train_pwm",
    "pretrain_world_model",
    "eval_tdmpc2",
    "pretrain_single_world_model",
}


def planned_gpus(output: str) -> dict[str, set[int]]:
    """rule -> the gpu resource values of its planned jobs, from a dry run's job listing."""
    found, rule = {}, None
    for line in output.splitlines():
        if m := re.match(r"(?:local)?rule (\w+):$", line.strip()):
            rule = m.group(1)
        elif rule and line.strip().startswith("resources:"):
            gpu = re.search(r"\bgpu=(\d+)", line)
            found.setdefault(rule, set()).add(int(gpu.group(1)) if gpu else 0)
            rule = None
    return found


@pytest.mark.parametrize("device, expected", [("cuda", 1), ("cpu", 0)])
def test_every_device_rule_requests_a_gpu_with_cuda(tmp_path, device, expected):
    workdir = copy_workflow(tmp_path)
    config = yaml.safe_load((PROJECT_ROOT / "config.yaml").read_text())
    config["device"] = device
    result = snakemake(workdir, "-n", config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    gpus = planned_gpus(result.stdout + result.stderr)
    assert DEVICE_RULES <= set(gpus), sorted(gpus)  # the default plans a job of every device rule
    for rule, values in gpus.items():
        assert values == ({expected} if rule in DEVICE_RULES else {0}), (rule, values)

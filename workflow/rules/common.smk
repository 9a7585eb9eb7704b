# Helpers shared by the rules: paths of run outputs and the CLI arguments of a training job.
import json
import shlex

from pwm.workflow_config import task_budget

RESULTS = config.get("results", "results")
# Every rule's conda environment (--use-conda; optional): this package and its dependencies.
# conda: paths are relative to the rule file, and every rule file lives in workflow/rules/.
CONDA_ENV = "../envs/pwm-bench.yaml"
RUN_DIR = RESULTS + "/{exp}/runs/{algo}/{task}/seed{seed}"
# GPUs requested by every rule whose job computes on the configured device (a cluster executor
# places those jobs on GPU nodes): one with `device: cuda...`, none on CPU.
GPUS = 1 if str(config.get("device", "cpu")).startswith("cuda") else 0


wildcard_constraints:
    exp=r"[A-Za-z0-9_.-]+",
    task=r"[a-z0-9][a-z0-9_-]*",
    seed=r"\d+",
    index=r"\d+",


def run_path(algo, name):
    """A file of one run of ``algo``, with {exp}, {task}, {seed} left as wildcards."""
    return RUN_DIR.replace("{algo}", algo) + "/" + name


def run_outputs(exp):
    """Every eval.csv of an experiment: its algorithms' runs and, for a multitask experiment with a
    `world_model` block, MPPI planning with that world model (eval_tdmpc2)."""
    spec = config["experiments"][exp]
    runs = [
        RUN_DIR.format(exp=exp, algo=algo, task=task, seed=seed) + "/eval.csv"
        for algo in spec["algorithms"]
        for task in spec["tasks"]
        for seed in spec["seeds"]
    ]
    if spec["kind"] == "multitask" and spec.get("world_model") and spec["world_model"].get("eval_planning", True):
        runs += planning_outputs(exp)
    return runs


def train_args(wildcards, algo):
    """CLI arguments of `pwm-bench train` for one run, from the experiment's budget for its task."""
    spec = config["experiments"][wildcards.exp]
    if algo in spec["algorithms"]:
        budget = spec["algorithms"][algo]
    else:  # a data-collection run of the world-model pipeline (world_model.collect)
        budget = spec.get("world_model", {}).get("collect")
        if budget is None:
            raise ValueError(f"experiment {wildcards.exp!r} needs {algo} runs but has no budget for "
                             f"them: list {algo} under algorithms or give world_model.collect")
    budget = task_budget(budget, wildcards.task)  # the task's per_task override merged in
    args = [
        "--task", wildcards.task, "--seed", wildcards.seed,
        "--out", RUN_DIR.format(algo=algo, **wildcards),
        "--steps", budget["steps"], "--eval-every", budget["eval_every"],
        "--eval-episodes", budget.get("eval_episodes", 10),
        "--device", config.get("device", "cpu"),
        "--hparams", json.dumps(budget.get("hparams", {})),
    ]
    return " ".join(shlex.quote(str(a)) for a in args)


def experiment_targets(exp):
    out = f"{RESULTS}/{exp}"
    return [f"{out}/aggregates.csv", f"{out}/profiles.csv", f"{out}/curves.csv", f"{out}/improvement.csv",
            f"{out}/figures/aggregates.pdf", f"{out}/figures/aggregates.png",
            f"{out}/figures/curves.pdf", f"{out}/figures/curves.png",
            f"{out}/figures/improvement.pdf", f"{out}/figures/improvement.png", f"{out}/tables.md"]


def aggregate_args(options):
    """`pwm-bench aggregate` options from a config block (config.aggregate or paper settings)."""
    args = ["--reps", options.get("reps", 2000), "--seed", options.get("seed", 0),
            "--confidence", options.get("confidence", 0.95), "--score", options.get("score", "final"),
            "--layout", options.get("layout", "canonical"), "--ci-method", options.get("ci_method", "percentile"),
            "--thin", options.get("thin", 1)]
    if "normalize" in options:
        args += ["--normalize", options["normalize"]]
    for task, scale in options.get("scales", {}).items():
        args += ["--scale", f"{task}={scale}"]
    if "taus" in options:
        args += ["--taus", options["taus"]]
    return " ".join(shlex.quote(str(a)) for a in args)


def published_entry(wildcards):
    entries = config["experiments"][wildcards.exp].get("published", [])
    return entries[int(wildcards.index)]


def published_outputs(exp):
    entries = config["experiments"][exp].get("published", [])
    return [f"{RESULTS}/{exp}/published/{i}.csv" for i in range(len(entries))]


def published_args(wildcards):
    """Import options of one published entry: only the experiment's tasks, marked as published."""
    entry = published_entry(wildcards)
    args = ["--format", entry["format"], "--algo", entry["algo"] + " (published)",
            "--tasks", ",".join(config["experiments"][wildcards.exp]["tasks"])]
    if "fps" in entry:
        args += ["--fps", entry["fps"]]
    return " ".join(shlex.quote(str(a)) for a in args)

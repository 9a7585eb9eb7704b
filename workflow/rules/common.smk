# Helpers shared by the rules: paths of run outputs and the CLI arguments of a training job.
import json
import shlex

RESULTS = config.get("results", "results")
RUN_DIR = RESULTS + "/{exp}/runs/{algo}/{task}/seed{seed}"


wildcard_constraints:
    exp=r"[A-Za-z0-9_.-]+",
    task=r"[a-z0-9][a-z0-9_-]*",
    seed=r"\d+",


def run_path(algo, name):
    """A file of one run of ``algo``, with {exp}, {task}, {seed} left as wildcards."""
    return RUN_DIR.replace("{algo}", algo) + "/" + name


def run_outputs(exp):
    spec = config["experiments"][exp]
    return [
        RUN_DIR.format(exp=exp, algo=algo, task=task, seed=seed) + "/eval.csv"
        for algo in spec["algorithms"]
        for task in spec["tasks"]
        for seed in spec["seeds"]
    ]


def train_args(wildcards, algo):
    """CLI arguments of `pwm-bench train` for one run, from the experiment's budget."""
    budget = config["experiments"][wildcards.exp]["algorithms"][algo]
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
    return [f"{out}/aggregates.csv", f"{out}/profiles.csv",
            f"{out}/figures/aggregates.pdf", f"{out}/figures/aggregates.png",
            f"{out}/figures/curves.pdf", f"{out}/figures/curves.png"]

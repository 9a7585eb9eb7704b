# Helpers shared by the rules. Every Python function of the workflow lives here and the other
# .smk files hold only rules (as `snakemake --lint` asks). Paths of outputs, the CLI arguments
# of each job, the inputs of the world-model pipelines and of the paper target.
# Paths are built by the path helpers below (results_path, run_dir, run_path, paper_path) from
# literal relative paths, never by concatenation, so that `snakemake --lint` stays clean.
import json
import os
import shlex
from pathlib import Path

from snakemake.exceptions import WorkflowError

from pwm.hparams import to_overrides
from pwm.workflow_config import (
    single_task_collection,
    task_budget,
    uses_single_task_pipeline,
)

RESULTS = config.get("results", "results")
# Every rule's conda environment (--use-conda; optional): this package and its dependencies.
# conda: paths are relative to the rule file, and every rule file lives in workflow/rules/.
CONDA_ENV = "../envs/pwm-bench.yaml"
# GPUs requested by every rule whose job computes on the configured device (a cluster executor
# places those jobs on GPU nodes): one with `device: cuda...`, none on CPU.
GPUS = 1 if str(config.get("device", "cpu")).startswith("cuda") else 0
# runs/<this>/<task>/seed<seed>/eval.csv: MPPI planning with PWM's multitask world model
PLANNING_ALGO = "tdmpc2_planning"


wildcard_constraints:
    exp=r"[A-Za-z0-9_.-]+",
    task=r"[a-z0-9][a-z0-9_-]*",
    seed=r"\d+",
    index=r"\d+",


# --- paths ---------------------------------------------------------------------------------------


def results_path(path):
    """``path`` (relative, may hold wildcards) inside the results folder (config ``results``)."""
    return f"{RESULTS}/{path}"


def run_dir(exp="{exp}", algo="{algo}", task="{task}", seed="{seed}"):
    """The directory of one run; the parts not given stay wildcards."""
    return results_path(f"{exp}/runs/{algo}/{task}/seed{seed}")


def run_path(algo, name):
    """A file of one run of ``algo``, with {exp}, {task}, {seed} left as wildcards."""
    return f"{run_dir(algo=algo)}/{name}"


def output_dir(key):
    """A params function: the folder of the rule's output ``key`` (an index or a name; the first
    file of a named list), for the --out-dir options of commands that write several files."""

    def folder(wildcards, output):
        files = output[key] if isinstance(key, int) else getattr(output, key)
        return os.path.dirname(files if isinstance(files, str) else files[0])

    return folder


def _quote(args):
    """Command-line arguments -> one shell-quoted string for a rule's params. Hyperparameters travel
    as key=value arguments (pwm.hparams.to_overrides: Hydra's grammar, the CLI's one syntax)."""
    return " ".join(shlex.quote(str(a)) for a in args)


def job_env(rule_name):
    """A params function: the job's rule and wildcards as environment assignments for its shell
    command (PWM_BENCH_RULE, PWM_BENCH_WILDCARDS as JSON), which its manifest.json records."""

    def assignments(wildcards):
        wildcards_json = json.dumps(dict(wildcards.items()), sort_keys=True)
        return f"PWM_BENCH_RULE={shlex.quote(rule_name)} PWM_BENCH_WILDCARDS={shlex.quote(wildcards_json)}"

    return assignments


# --- experiments and training runs ---------------------------------------------------------------


def run_outputs(exp):
    """Every eval.csv of an experiment: its algorithms' runs and, for a multitask experiment with a
    `world_model` block, MPPI planning with that world model (eval_tdmpc2)."""
    spec = config["experiments"][exp]
    runs = [
        f"{run_dir(exp, algo, task, seed)}/eval.csv"
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
            raise ValueError(
                f"experiment {wildcards.exp!r} needs {algo} runs but has no budget for "
                f"them: list {algo} under algorithms or give world_model.collect"
            )
    budget = task_budget(budget, wildcards.task)  # the task's per_task override merged in
    args = [
        "--task",
        wildcards.task,
        "--seed",
        wildcards.seed,
        "--out",
        run_dir(wildcards.exp, algo, wildcards.task, wildcards.seed),
        "--steps",
        budget["steps"],
        "--eval-every",
        budget["eval_every"],
        "--eval-episodes",
        budget.get("eval_episodes", 10),
        "--device",
        config.get("device", "cpu"),
        *to_overrides(budget.get("hparams", {})),
    ]
    return _quote(args)


# PWM needs a pre-trained world model and offline data. In a multitask experiment they are the
# world-model pipeline's outputs (world_model.smk): pretrain_world_model's checkpoint (or
# world_model.checkpoint) and build_dataset's dataset (or world_model.dataset). In a single-task
# experiment they are per task (single_task_world_model.smk): pretrain_single_world_model's
# world_model.pt and the SHAC collection run's rollouts.pt (or world_model.checkpoint/data). A pwm
# budget whose hparams name world_model/data_dir or pretrained_world_model/offline_data uses those.
def pwm_sources(wc):
    """--set key -> path of the run's world model and offline data."""
    spec = config["experiments"][wc.exp]
    if spec["kind"] == "multitask" and spec.get("world_model"):
        return {"world_model": world_model_checkpoint(wc.exp), "data_dir": dataset_dir(wc.exp)}
    if uses_single_task_pipeline(spec):
        return {
            "pretrained_world_model": single_world_model_path(wc.exp, wc.task),
            "offline_data": single_offline_data(wc.exp, wc.task),
        }
    hp = task_budget(spec["algorithms"]["pwm"], wc.task)["hparams"]
    keys = ("world_model", "data_dir", "pretrained_world_model", "offline_data")
    return {k: hp[k] for k in keys if hp.get(k)}


def pwm_inputs(wc):
    """The files train_pwm waits for: pwm_sources, except that a dataset directory is waited for
    through build_dataset's chunk_0.pt and a SHAC run's rollouts.pt through its eval.csv (written
    after it)."""
    sources = dict(pwm_sources(wc))
    spec = config["experiments"][wc.exp]
    if spec["kind"] == "multitask" and spec.get("world_model") and not world_model_spec(wc.exp).get("dataset"):
        sources["data_dir"] = f"{sources['data_dir']}/chunk_0.pt"
    elif uses_single_task_pipeline(spec):
        sources["offline_data"] = single_offline_input(wc.exp, wc.task)
    return sources


def pwm_args(wc):
    """train_args, then the pipeline's world model and data as key=value overrides (these win)."""
    return " ".join([train_args(wc, "pwm"), _quote(to_overrides(pwm_sources(wc)))])


# --- the multitask world-model pipeline (world_model.smk) ----------------------------------------


def world_model_spec(exp):
    """An experiment's world_model block (multitask or single-task), {} when it has none."""
    return config["experiments"][exp].get("world_model", {})


def dataset_dir(exp):
    return world_model_spec(exp).get("dataset") or f"{RESULTS}/{exp}/dataset"


def world_model_checkpoint(exp):
    return world_model_spec(exp).get("checkpoint") or f"{RESULTS}/{exp}/world_model/model.pt"


def collection_runs(exp):
    """Run directories whose replay buffers form the dataset: `collect_algo` (tdmpc2 or sac), one
    seed, every task; in this experiment or in the one `collect_from` names."""
    wm = world_model_spec(exp)
    source = wm.get("collect_from", exp)
    seed = wm.get("collect_seed", config["experiments"][source]["seeds"][0])
    algo = wm.get("collect_algo", "tdmpc2")
    return [run_dir(source, algo, task, seed) for task in config["experiments"][exp]["tasks"]]


def planning_outputs(exp):
    """The eval.csv files of multitask planning evaluation (one per task and seed)."""
    spec = config["experiments"][exp]
    return [f"{run_dir(exp, PLANNING_ALGO, task, seed)}/eval.csv" for task in spec["tasks"] for seed in spec["seeds"]]


def pretrain_args(wildcards):
    wm = world_model_spec(wildcards.exp)
    args = [
        "--data",
        dataset_dir(wildcards.exp),
        "--out",
        f"{RESULTS}/{wildcards.exp}/world_model",
        "--task-set",
        wm["suite"],
        "--model-size",
        wm.get("model_size", 5),
        "--horizon",
        wm.get("horizon", 16),
        "--rho",
        wm.get("rho", 0.99),
        "--batch-size",
        wm.get("batch_size", 256),
        "--steps",
        wm.get("steps", 100000),
        "--checkpoint-every",
        wm.get("checkpoint_every", 10000),
        "--seed",
        wm.get("seed", 1),
        "--device",
        config.get("device", "cpu"),
    ]
    if "tasks" in wm:
        args += ["--tasks", ",".join(map(str, wm["tasks"]))]
    args += to_overrides(wm.get("hparams", {}))
    return _quote(args)


def eval_planning_args(wildcards):
    wm = world_model_spec(wildcards.exp)
    args = [
        "--checkpoint",
        world_model_checkpoint(wildcards.exp),
        "--task-set",
        wm["suite"],
        "--tasks",
        wildcards.task,
        "--seed",
        wildcards.seed,
        "--eval-episodes",
        wm.get("eval_episodes", 10),
        "--step",
        wm.get("steps", 0),
        "--algo",
        PLANNING_ALGO,
        "--device",
        config.get("device", "cpu"),
        "--out",
        f"{run_dir(wildcards.exp, PLANNING_ALGO, wildcards.task, wildcards.seed)}/eval.csv",
    ]
    args += to_overrides(wm.get("planner", {}))
    return _quote(args)


# --- the single-task world-model pipeline (single_task_world_model.smk) --------------------------


def shac_collection_run(exp, task):
    """The SHAC run (of this experiment or of world_model.collect_from) whose rollouts are the data."""
    source, seed = single_task_collection(config, exp)
    return run_dir(source, "shac", task, seed)


def single_offline_data(exp, task):
    """The offline chunks of a task: world_model.data.<task>, else the SHAC run's rollouts.pt."""
    return world_model_spec(exp).get("data", {}).get(task) or f"{shac_collection_run(exp, task)}/rollouts.pt"


def single_offline_input(exp, task):
    """What a job waits for to read the offline data: the given data, or the SHAC run's eval.csv."""
    return world_model_spec(exp).get("data", {}).get(task) or f"{shac_collection_run(exp, task)}/eval.csv"


def single_world_model_path(exp, task):
    return (
        world_model_spec(exp).get("checkpoint", {}).get(task) or f"{RESULTS}/{exp}/world_models/{task}/world_model.pt"
    )


def landscape_tasks(exp):
    spec = config["experiments"][exp]
    if "landscape" not in spec:
        return []
    return spec["landscape"].get("tasks", spec["tasks"])


def pwm_run_dirs(exp, task):
    return [run_dir(exp, "pwm", task, seed) for seed in config["experiments"][exp]["seeds"]]


def landscape_ablations(exp):
    """Name -> experiment whose world model is an ablation (the landscape block's ``ablations``)."""
    return config["experiments"][exp]["landscape"].get("ablations", {})


def landscape_inputs(wc):
    """The task's world model and every PWM seed's run (their checkpoints hold the actors), and the
    same of each ablation's experiment."""
    experiments = [wc.exp, *landscape_ablations(wc.exp).values()]
    return {
        "world_models": [single_world_model_path(e, wc.task) for e in experiments],
        "runs": [f"{d}/eval.csv" for e in experiments for d in pwm_run_dirs(e, wc.task)],
    }


def landscape_args(wc):
    spec = config["experiments"][wc.exp]
    options = spec["landscape"]
    args = [
        "--task",
        wc.task,
        "--world-model",
        single_world_model_path(wc.exp, wc.task),
        "--out-dir",
        f"{RESULTS}/{wc.exp}/landscape/{wc.task}",
        "--horizons",
        ",".join(str(h) for h in options.get("horizons", [8, 16, 32, 64])),
        "--start-states",
        options.get("start_states", 16),
        "--points",
        options.get("points", 21),
        "--grid",
        options.get("grid", 11),
        "--gamma",
        options.get("gamma", 0.99),
        "--seed",
        options.get("seed", 0),
        "--run-models",
        options.get("run_models", "own"),
        "--run",
        *pwm_run_dirs(wc.exp, wc.task),
    ]
    for name, other in landscape_ablations(wc.exp).items():
        args += [
            "--ablation",
            ",".join([f"{name}={single_world_model_path(other, wc.task)}", *pwm_run_dirs(other, wc.task)]),
        ]
    return _quote(args)


def pretrain_single_args(wc):
    spec, wm = config["experiments"][wc.exp], world_model_spec(wc.exp)
    steps = wm.get("per_task", {}).get(wc.task, {}).get("steps", wm.get("steps", 50000))
    hparams = task_budget(spec["algorithms"]["pwm"], wc.task)["hparams"]
    args = [
        "--task",
        wc.task,
        "--data",
        single_offline_data(wc.exp, wc.task),
        "--out",
        f"{RESULTS}/{wc.exp}/world_models/{wc.task}",
        "--steps",
        steps,
        "--checkpoint-every",
        wm.get("checkpoint_every", 5000),
        "--seed",
        wm.get("seed", 1),
        "--device",
        config.get("device", "cpu"),
        *to_overrides(hparams),
    ]
    return _quote(args)


# --- analysis (analysis.smk) ---------------------------------------------------------------------


def experiment_targets(exp):
    out = f"{RESULTS}/{exp}"
    return (
        [
            f"{out}/aggregates.csv",
            f"{out}/profiles.csv",
            f"{out}/curves.csv",
            f"{out}/improvement.csv",
            f"{out}/figures/aggregates.pdf",
            f"{out}/figures/aggregates.png",
            f"{out}/figures/curves.pdf",
            f"{out}/figures/curves.png",
            f"{out}/figures/improvement.pdf",
            f"{out}/figures/improvement.png",
            f"{out}/tables.md",
        ]
        + (
            [f"{out}/published_comparison.csv", f"{out}/figures/published_comparison.pdf"]
            if config["experiments"][exp].get("published")
            else []
        )
        + [f"{out}/landscape/{task}/landscape_gradients.csv" for task in landscape_tasks(exp)]
    )


def aggregate_args(options):
    """`pwm-bench aggregate` options from a config block (config.aggregate or paper settings)."""
    args = [
        "--reps",
        options.get("reps", 2000),
        "--seed",
        options.get("seed", 0),
        "--confidence",
        options.get("confidence", 0.95),
        "--score",
        options.get("score", "final"),
        "--layout",
        options.get("layout", "canonical"),
        "--ci-method",
        options.get("ci_method", "percentile"),
        "--thin",
        options.get("thin", 1),
        "--seed-target",
        options.get("seed_target", 0.05),
    ]
    if "normalize" in options:
        args += ["--normalize", options["normalize"]]
    for task, scale in options.get("scales", {}).items():
        args += ["--scale", f"{task}={scale}"]
    if "taus" in options:
        args += ["--taus", options["taus"]]
    return _quote(args)


def published_entry(wildcards):
    entries = config["experiments"][wildcards.exp].get("published", [])
    return entries[int(wildcards.index)]


def published_outputs(exp):
    entries = config["experiments"][exp].get("published", [])
    return [f"{RESULTS}/{exp}/published/{i}.csv" for i in range(len(entries))]


def published_args(wildcards):
    """Import options of one published entry: only the experiment's tasks, marked as published."""
    entry = published_entry(wildcards)
    args = [
        "--format",
        entry["format"],
        "--algo",
        entry["algo"] + " (published)",
        "--tasks",
        ",".join(config["experiments"][wildcards.exp]["tasks"]),
    ]
    if "fps" in entry:
        args += ["--fps", entry["fps"]]
    return _quote(args)


# --- the paper target (paper.smk) ----------------------------------------------------------------

PAPER = f"{RESULTS}/paper"
PAPER_MULTITASK_FILES = {"pwm": "mt{suite}_results.csv", "tdmpc2": "tdmpc2_mt{suite}_scores.csv"}
PAPER_REPS = int(config.get("paper", {}).get("reps", 2000))
PAPER_AGGREGATE_OUTPUTS = ["aggregates", "profiles", "curves", "improvement", "run_scores", "normalization"]
# figure -> section folder; single_task has its own rule (it also writes the statistics).
PAPER_FIGURES = {
    "locomotion_sweep": "single-task",
    "multitask_experts": "multitask",
    "horizon_ablation": "multitask",
    "batch_size_ablation": "ablations",
    "world_model_ablation": "ablations",
    "activation_ablation": "ablations",
    "hopper_stiffness": "ablations",
    "policy_extraction": "ablations",
}


def paper_path(path):
    """``path`` (relative, may hold wildcards) inside the paper target's folder, results/paper."""
    return f"{PAPER}/{path}"


def paper_dir():
    """The folder of the published PWM files, from config paper.published_dir, checked."""
    given = config.get("paper", {}).get("published_dir")
    if not given:
        raise WorkflowError(
            "the paper target needs the folder of the PWM paper's published score files; run\n"
            "  snakemake paper --cores all --config paper='{published_dir: ../shared/reference}'\n"
            "or set paper: {published_dir: ...} in the config file"
        )
    folder = Path(given)
    if (folder / "pwm-paper").is_dir():
        folder = folder / "pwm-paper"
    needed = [f.format(suite=s) for f in PAPER_MULTITASK_FILES.values() for s in (30, 80)]
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise WorkflowError(
            f"paper.published_dir={given!r}: {folder} lacks {missing} "
            "(expected the files of imgeorgiev/PWM results/data)"
        )
    return folder


def paper_present_files(name):
    """The released files figure `name` reads that exist in the paper folder (paper_data imports
    pandas and rliable, ~1 s: only when the paper target is planned, not on every DAG)."""
    from pwm.analysis import paper_data

    return paper_data.present_files(paper_dir(), name)


def paper_missing_series(name):
    """The series of figure `name` whose released files are absent, for its caption and log."""
    from pwm.analysis import paper_data

    return paper_data.describe_missing(paper_dir(), name)


def paper_outputs(name, section):
    return [f"{PAPER}/figures/{section}/{name}.{ext}" for ext in ("pdf", "png", "csv", "md")]

# `snakemake paper`: the PWM paper's multitask and single-task figures and tables, from the
# published score files alone (imgeorgiev/PWM results/data), which are never copied into the project:
#   snakemake paper --cores all --config paper='{published_dir: ../shared/reference}'
# published_dir is the folder holding pwm-paper/ (or the pwm-paper folder itself).
# Protocol (spec/pwm.md §5-6): multitask = final scores, dm_control /1000, Meta-World success, the
# notebooks' tasks-as-runs bootstrap, tau in [0, 1]; single-task = every seed at the peak of the
# across-seed IQM curve (every 10th logged row), divided by PPO's peak IQM, tau in [0.5, 2].
from pathlib import Path

from snakemake.exceptions import WorkflowError

PAPER = RESULTS + "/paper"
PAPER_ENVS = ["hopper", "ant", "anymal", "humanoid", "humanoidsnu"]
# PPO's peak IQM return per env, hard-coded in results.ipynb cell 4 (PPO's files are unpublished).
PAPER_PPO_SCALES = {"ant": 6604.663357204862, "hopper": 4742.296956380208, "anymal": 12028.991672092014,
                    "humanoid": 7292.7856852213545, "humanoidsnu": 4246.042073567708}
PAPER_MULTITASK_FILES = {"pwm": "mt{suite}_results.csv", "tdmpc2": "tdmpc2_mt{suite}_scores.csv"}
PAPER_REPS = int(config.get("paper", {}).get("reps", 2000))


def paper_dir():
    """The folder of the published PWM files, from config paper.published_dir, checked."""
    given = config.get("paper", {}).get("published_dir")
    if not given:
        raise WorkflowError(
            "the paper target needs the folder of the PWM paper's published score files; run\n"
            "  snakemake paper --cores all --config paper='{published_dir: ../shared/reference}'\n"
            "or set paper: {published_dir: ...} in the config file")
    folder = Path(given)
    if (folder / "pwm-paper").is_dir():
        folder = folder / "pwm-paper"
    needed = [f.format(suite=s) for f in PAPER_MULTITASK_FILES.values() for s in (30, 80)]
    needed += [f"{algo}_{env}.csv" for algo in ("pwm", "tdmpc2") for env in PAPER_ENVS]
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise WorkflowError(f"paper.published_dir={given!r}: {folder} lacks {missing} "
                            "(expected the files of imgeorgiev/PWM results/data)")
    return folder


wildcard_constraints:
    suite="30|80",
    paper_algo="pwm|tdmpc2",


localrules:
    paper,


rule paper:
    input:
        expand(PAPER + "/figures/multitask/{name}.{ext}", name=["multitask", "multitask_tasks", "improvement"],
               ext=["pdf", "png"]),
        expand(PAPER + "/figures/single-task/{name}.{ext}", name=["single_task", "improvement"],
               ext=["pdf", "png"]),
        PAPER + "/tables/multitask.md",
        PAPER + "/tables/single_task.md",


rule paper_import_multitask:
    conda:
        CONDA_ENV
    input:
        lambda wc: paper_dir() / PAPER_MULTITASK_FILES[wc.paper_algo].format(suite=wc.suite),
    output:
        PAPER + "/imports/{paper_algo}_mt{suite}.csv",
    log:
        PAPER + "/logs/import_{paper_algo}_mt{suite}.log",
    shell:
        "pwm-bench import --format pwm-multitask --algo {wildcards.paper_algo} --out {output} {input} > {log} 2>&1"


rule paper_import_single_task:
    conda:
        CONDA_ENV
    input:
        lambda wc: [paper_dir() / f"{wc.paper_algo}_{env}.csv" for env in PAPER_ENVS],
    output:
        PAPER + "/imports/{paper_algo}_single_task.csv",
    log:
        PAPER + "/logs/import_{paper_algo}_single_task.log",
    shell:
        "pwm-bench import --format pwm-single-task --algo {wildcards.paper_algo} --out {output} {input} > {log} 2>&1"


PAPER_AGGREGATE_OUTPUTS = ["aggregates", "profiles", "curves", "improvement", "run_scores", "normalization"]


rule paper_aggregate_multitask:
    conda:
        CONDA_ENV
    input:
        expand(PAPER + "/imports/{paper_algo}_mt{{suite}}.csv", paper_algo=["pwm", "tdmpc2"]),
    output:
        expand(PAPER + "/mt{{suite}}/{name}.csv", name=PAPER_AGGREGATE_OUTPUTS),
    log:
        PAPER + "/logs/aggregate_mt{suite}.log",
    params:
        args=aggregate_args({"reps": PAPER_REPS, "layout": "paper", "taus": "0:1:100", "score": "final"}),
    shell:
        "pwm-bench aggregate {input} --out-dir {PAPER}/mt{wildcards.suite} --group mt{wildcards.suite} "
        "{params.args} > {log} 2>&1"


rule paper_aggregate_single_task:
    conda:
        CONDA_ENV
    input:
        expand(PAPER + "/imports/{paper_algo}_single_task.csv", paper_algo=["pwm", "tdmpc2"]),
    output:
        expand(PAPER + "/single-task/{name}.csv", name=PAPER_AGGREGATE_OUTPUTS),
    log:
        PAPER + "/logs/aggregate_single_task.log",
    params:
        args=aggregate_args({"reps": PAPER_REPS, "layout": "paper", "taus": "0.5:2.0:100", "score": "iqm-peak",
                             "thin": 10, "normalize": "scales", "scales": PAPER_PPO_SCALES}),
    shell:
        "pwm-bench aggregate {input} --out-dir {PAPER}/single-task --group single-task {params.args} > {log} 2>&1"


rule paper_figures_multitask:
    conda:
        CONDA_ENV
    input:
        agg=expand(PAPER + "/mt{suite}/aggregates.csv", suite=[30, 80]),
        prof=expand(PAPER + "/mt{suite}/profiles.csv", suite=[30, 80]),
        poi=expand(PAPER + "/mt{suite}/improvement.csv", suite=[30, 80]),
        runs=expand(PAPER + "/mt{suite}/run_scores.csv", suite=[30, 80]),
    output:
        report(PAPER + "/figures/multitask/multitask.png", caption="../report/paper_multitask.rst",
               category="PWM paper", subcategory="multitask"),
        PAPER + "/figures/multitask/multitask.pdf",
        report(PAPER + "/figures/multitask/multitask_tasks.png", caption="../report/paper_multitask_tasks.rst",
               category="PWM paper", subcategory="multitask"),
        PAPER + "/figures/multitask/multitask_tasks.pdf",
        report(PAPER + "/figures/multitask/improvement.png", caption="../report/paper_improvement.rst",
               category="PWM paper", subcategory="multitask"),
        PAPER + "/figures/multitask/improvement.pdf",
        report(PAPER + "/tables/multitask.md", caption="../report/paper_tables.rst", category="PWM paper",
               subcategory="multitask"),
    log:
        PAPER + "/logs/figures_multitask.log",
    shell:
        "pwm-bench figures --kind multitask --aggregates {input.agg} --profiles {input.prof} "
        "--improvement {input.poi} --run-scores {input.runs} --tables {PAPER}/tables/multitask.md "
        "--out-dir {PAPER}/figures/multitask > {log} 2>&1"


rule paper_figures_single_task:
    conda:
        CONDA_ENV
    input:
        agg=PAPER + "/single-task/aggregates.csv",
        prof=PAPER + "/single-task/profiles.csv",
        curves=PAPER + "/single-task/curves.csv",
        poi=PAPER + "/single-task/improvement.csv",
        runs=PAPER + "/single-task/run_scores.csv",
    output:
        report(PAPER + "/figures/single-task/single_task.png", caption="../report/paper_single_task.rst",
               category="PWM paper", subcategory="single-task"),
        PAPER + "/figures/single-task/single_task.pdf",
        report(PAPER + "/figures/single-task/improvement.png", caption="../report/paper_improvement.rst",
               category="PWM paper", subcategory="single-task"),
        PAPER + "/figures/single-task/improvement.pdf",
        report(PAPER + "/tables/single_task.md", caption="../report/paper_tables.rst", category="PWM paper",
               subcategory="single-task"),
    log:
        PAPER + "/logs/figures_single_task.log",
    shell:
        "pwm-bench figures --kind single-task --aggregates {input.agg} --profiles {input.prof} "
        "--curves {input.curves} --improvement {input.poi} --run-scores {input.runs} "
        "--profile-xlabel 'PPO-normalized score' --tables {PAPER}/tables/single_task.md "
        "--out-dir {PAPER}/figures/single-task > {log} 2>&1"

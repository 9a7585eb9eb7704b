# `snakemake paper`: every figure of the PWM paper whose data are released, from the published
# score files alone (imgeorgiev/PWM results/data), which are never copied into the project:
#   snakemake paper --cores all --config paper='{published_dir: ../shared/reference}'
# published_dir is the folder holding pwm-paper/ (or the pwm-paper folder itself); the multitask
# experts figure also reads TD-MPC2's SAC curves from ../tdmpc2-results/sac beside pwm-paper/.
# Protocol (spec/pwm.md §5-6): multitask = final scores, dm_control /1000, Meta-World success, the
# notebooks' tasks-as-runs bootstrap, tau in [0, 1]; single-task = every seed at the peak of the
# across-seed IQM curve (every 10th logged row; wall-clock exports resampled and put on steps with
# the notebook's FPS table), divided by PPO's peak IQM, tau in [0.5, 2].
# Only the four multitask score files are required. Every other figure is drawn with the files
# present (pwm.analysis.paper_data.FIGURES lists which file feeds which series); an absent series
# is named in the figure, its caption, its .md table and its log, and dropping the file into
# published_dir reruns the figure (its input list and the `missing` param change).
from pathlib import Path

from snakemake.exceptions import WorkflowError

from pwm.analysis import paper_data

PAPER = RESULTS + "/paper"
PAPER_MULTITASK_FILES = {"pwm": "mt{suite}_results.csv", "tdmpc2": "tdmpc2_mt{suite}_scores.csv"}
PAPER_REPS = int(config.get("paper", {}).get("reps", 2000))
# figure -> (section folder, caption); single_task has its own rule (it also writes the statistics).
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
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise WorkflowError(f"paper.published_dir={given!r}: {folder} lacks {missing} "
                            "(expected the files of imgeorgiev/PWM results/data)")
    return folder


def paper_outputs(name, section):
    return [f"{PAPER}/figures/{section}/{name}.{ext}" for ext in ("pdf", "png", "csv", "md")]


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
        paper_outputs("single_task", "single-task"),
        [paper_outputs(name, section) for name, section in PAPER_FIGURES.items()],
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




rule paper_single_task:
    conda:
        CONDA_ENV
    input:
        lambda wc: paper_data.present_files(paper_dir(), "single_task"),
    output:
        report(PAPER + "/figures/single-task/single_task.png", caption="../report/paper_single_task.rst",
               category="PWM paper", subcategory="single-task"),
        PAPER + "/figures/single-task/single_task.pdf",
        PAPER + "/figures/single-task/single_task.csv",
        report(PAPER + "/figures/single-task/single_task.md", caption="../report/paper_figure_table.rst",
               category="PWM paper", subcategory="single-task"),
        report(PAPER + "/figures/single-task/improvement.png", caption="../report/paper_improvement_single.rst",
               category="PWM paper", subcategory="single-task"),
        PAPER + "/figures/single-task/improvement.pdf",
        report(PAPER + "/tables/single_task.md", caption="../report/paper_tables.rst", category="PWM paper",
               subcategory="single-task"),
        expand(PAPER + "/single-task/{name}.csv", name=PAPER_AGGREGATE_OUTPUTS),
    log:
        PAPER + "/logs/figure_single_task.log",
    params:
        missing=lambda wc: paper_data.describe_missing(paper_dir(), "single_task"),
        folder=lambda wc: str(paper_dir()),
        reps=PAPER_REPS,
    shell:
        "python -m pwm.analysis.paper_figures single_task --published-dir {params.folder:q} --reps {params.reps} "
        "--out-dir {PAPER}/figures/single-task --stats-dir {PAPER}/single-task "
        "--tables {PAPER}/tables/single_task.md > {log} 2>&1"


for _name, _section in PAPER_FIGURES.items():

    rule:
        name:
            f"paper_figure_{_name}"
        conda:
            CONDA_ENV
        input:
            lambda wc, name=_name: paper_data.present_files(paper_dir(), name),
        output:
            report(f"{PAPER}/figures/{_section}/{_name}.png", caption=f"../report/paper_{_name}.rst",
                   category="PWM paper", subcategory=_section),
            f"{PAPER}/figures/{_section}/{_name}.pdf",
            f"{PAPER}/figures/{_section}/{_name}.csv",
            report(f"{PAPER}/figures/{_section}/{_name}.md", caption="../report/paper_figure_table.rst",
                   category="PWM paper", subcategory=_section),
        log:
            f"{PAPER}/logs/figure_{_name}.log",
        params:
            missing=lambda wc, name=_name: paper_data.describe_missing(paper_dir(), name),
            folder=lambda wc: str(paper_dir()),
            reps=PAPER_REPS,
            figure=_name,
            section=_section,
        shell:
            "python -m pwm.analysis.paper_figures {params.figure} --published-dir {params.folder:q} --reps {params.reps} "
            "--out-dir {PAPER}/figures/{params.section} > {log} 2>&1"

# `snakemake paper`: every figure of the PWM paper whose data are released, from the published
# score files alone (imgeorgiev/PWM results/data), which are never copied into the project:
#   snakemake paper --cores all --config paper='{published_dir: ../shared/reference}'
# published_dir is the folder holding pwm-paper/ (or the pwm-paper folder itself); the multitask
# experts figure also reads TD-MPC2's SAC curves from ../tdmpc2-results/sac beside pwm-paper/.
# Protocol (docs/reference-notes.md §5-6): multitask = final scores, dm_control /1000, Meta-World success, the
# notebooks' tasks-as-runs bootstrap, tau in [0, 1]; single-task = every seed at the peak of the
# across-seed IQM curve (every 10th logged row; wall-clock exports resampled and put on steps with
# the notebook's FPS table), divided by PPO's peak IQM, tau in [0.5, 2].
# Only the four multitask score files are required. Every other figure is drawn with the files
# present (pwm.analysis.paper_data.FIGURES lists which file feeds which series); an absent series
# is named in the figure, its caption, its .md table and its log, and dropping the file into
# published_dir reruns the figure (its input list and the `missing` param change).
# The helpers (paper_dir, paper_path, PAPER_FIGURES, ...) are in common.smk.


wildcard_constraints:
    suite="30|80",
    paper_algo="pwm|tdmpc2",


localrules:
    paper,


rule paper:
    input:
        expand(
            paper_path("figures/multitask/{name}.{ext}"),
            name=["multitask", "multitask_tasks", "improvement"],
            ext=["pdf", "png"],
        ),
        expand(paper_path("figures/single-task/{name}.{ext}"), name=["single_task", "improvement"], ext=["pdf", "png"]),
        paper_outputs("single_task", "single-task"),
        [paper_outputs(name, section) for name, section in PAPER_FIGURES.items()],
        paper_path("tables/multitask.md"),
        paper_path("tables/single_task.md"),


rule paper_import_multitask:
    conda:
        CONDA_ENV
    input:
        lambda wc: paper_dir() / PAPER_MULTITASK_FILES[wc.paper_algo].format(suite=wc.suite),
    output:
        paper_path("imports/{paper_algo}_mt{suite}.csv"),
    log:
        paper_path("logs/import_{paper_algo}_mt{suite}.log"),
    shell:
        "pwm-bench import --format pwm-multitask --algo {wildcards.paper_algo} --out {output} {input} > {log} 2>&1"


rule paper_aggregate_multitask:
    conda:
        CONDA_ENV
    input:
        expand(paper_path("imports/{paper_algo}_mt{{suite}}.csv"), paper_algo=["pwm", "tdmpc2"]),
    output:
        stats=expand(paper_path("mt{{suite}}/{name}.csv"), name=PAPER_AGGREGATE_OUTPUTS),
    log:
        paper_path("logs/aggregate_mt{suite}.log"),
    params:
        args=aggregate_args({"reps": PAPER_REPS, "layout": "paper", "taus": "0:1:100", "score": "final"}),
        out_dir=output_dir("stats"),
    shell:
        "pwm-bench aggregate {input} --out-dir {params.out_dir} --group mt{wildcards.suite} "
        "{params.args} > {log} 2>&1"


rule paper_figures_multitask:
    conda:
        CONDA_ENV
    input:
        agg=expand(paper_path("mt{suite}/aggregates.csv"), suite=[30, 80]),
        prof=expand(paper_path("mt{suite}/profiles.csv"), suite=[30, 80]),
        poi=expand(paper_path("mt{suite}/improvement.csv"), suite=[30, 80]),
        runs=expand(paper_path("mt{suite}/run_scores.csv"), suite=[30, 80]),
    output:
        report(
            paper_path("figures/multitask/multitask.png"),
            caption="../report/paper_multitask.rst",
            category="PWM paper",
            subcategory="multitask",
        ),
        paper_path("figures/multitask/multitask.pdf"),
        report(
            paper_path("figures/multitask/multitask_tasks.png"),
            caption="../report/paper_multitask_tasks.rst",
            category="PWM paper",
            subcategory="multitask",
        ),
        paper_path("figures/multitask/multitask_tasks.pdf"),
        report(
            paper_path("figures/multitask/improvement.png"),
            caption="../report/paper_improvement.rst",
            category="PWM paper",
            subcategory="multitask",
        ),
        paper_path("figures/multitask/improvement.pdf"),
        tables=report(
            paper_path("tables/multitask.md"),
            caption="../report/paper_tables.rst",
            category="PWM paper",
            subcategory="multitask",
        ),
    log:
        paper_path("logs/figures_multitask.log"),
    params:
        out_dir=output_dir(0),
    shell:
        "pwm-bench figures --kind multitask --aggregates {input.agg} --profiles {input.prof} "
        "--improvement {input.poi} --run-scores {input.runs} --tables {output.tables} "
        "--out-dir {params.out_dir} > {log} 2>&1"


rule paper_single_task:
    conda:
        CONDA_ENV
    input:
        lambda wc: paper_present_files("single_task"),
    output:
        report(
            paper_path("figures/single-task/single_task.png"),
            caption="../report/paper_single_task.rst",
            category="PWM paper",
            subcategory="single-task",
        ),
        paper_path("figures/single-task/single_task.pdf"),
        paper_path("figures/single-task/single_task.csv"),
        report(
            paper_path("figures/single-task/single_task.md"),
            caption="../report/paper_figure_table.rst",
            category="PWM paper",
            subcategory="single-task",
        ),
        report(
            paper_path("figures/single-task/improvement.png"),
            caption="../report/paper_improvement_single.rst",
            category="PWM paper",
            subcategory="single-task",
        ),
        paper_path("figures/single-task/improvement.pdf"),
        tables=report(
            paper_path("tables/single_task.md"),
            caption="../report/paper_tables.rst",
            category="PWM paper",
            subcategory="single-task",
        ),
        stats=expand(paper_path("single-task/{name}.csv"), name=PAPER_AGGREGATE_OUTPUTS),
    log:
        paper_path("logs/figure_single_task.log"),
    params:
        missing=lambda wc: paper_missing_series("single_task"),
        folder=lambda wc: str(paper_dir()),
        reps=PAPER_REPS,
        out_dir=output_dir(0),
        stats_dir=output_dir("stats"),
    shell:
        "python -m pwm.analysis.paper_figures single_task --published-dir {params.folder:q} --reps {params.reps} "
        "--out-dir {params.out_dir} --stats-dir {params.stats_dir} "
        "--tables {output.tables} > {log} 2>&1"


for _name, _section in PAPER_FIGURES.items():

    rule:
        name:
            f"paper_figure_{_name}"
        conda:
            CONDA_ENV
        input:
            lambda wc, name=_name: paper_present_files(name),
        output:
            report(
                paper_path(f"figures/{_section}/{_name}.png"),
                caption=f"../report/paper_{_name}.rst",
                category="PWM paper",
                subcategory=_section,
            ),
            paper_path(f"figures/{_section}/{_name}.pdf"),
            paper_path(f"figures/{_section}/{_name}.csv"),
            report(
                paper_path(f"figures/{_section}/{_name}.md"),
                caption="../report/paper_figure_table.rst",
                category="PWM paper",
                subcategory=_section,
            ),
        log:
            paper_path(f"logs/figure_{_name}.log"),
        params:
            missing=lambda wc, name=_name: paper_missing_series(name),
            folder=lambda wc: str(paper_dir()),
            reps=PAPER_REPS,
            figure=_name,
            out_dir=output_dir(0),
        shell:
            "python -m pwm.analysis.paper_figures {params.figure} --published-dir {params.folder:q} --reps {params.reps} "
            "--out-dir {params.out_dir} > {log} 2>&1"

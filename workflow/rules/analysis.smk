# From run outputs to numbers and figures: collect (+ import published) -> aggregate (rliable) -> figures.


rule collect:
    conda:
        CONDA_ENV
    input:
        lambda wc: run_outputs(wc.exp),
    output:
        RESULTS + "/{exp}/scores.csv",
    log:
        RESULTS + "/{exp}/logs/collect.log",
    shell:
        "pwm-bench collect {input} --out {output} > {log} 2>&1"


rule import_published:
    conda:
        CONDA_ENV
    # Published results shown beside the experiment's own runs, as '<algo> (published)'.
    input:
        lambda wc: published_entry(wc)["path"],
    output:
        RESULTS + "/{exp}/published/{index}.csv",
    log:
        RESULTS + "/{exp}/logs/import_published_{index}.log",
    params:
        args=published_args,
    shell:
        "pwm-bench import {input} --out {output} {params.args} > {log} 2>&1"


rule aggregate:
    conda:
        CONDA_ENV
    input:
        scores=RESULTS + "/{exp}/scores.csv",
        published=lambda wc: published_outputs(wc.exp),
    output:
        RESULTS + "/{exp}/aggregates.csv",
        RESULTS + "/{exp}/profiles.csv",
        RESULTS + "/{exp}/curves.csv",
        RESULTS + "/{exp}/improvement.csv",
        RESULTS + "/{exp}/run_scores.csv",
        RESULTS + "/{exp}/normalization.csv",
    log:
        RESULTS + "/{exp}/logs/aggregate.log",
    params:
        args=aggregate_args(config.get("aggregate", {})),
    shell:
        "pwm-bench aggregate {input.scores} {input.published} --out-dir {RESULTS}/{wildcards.exp} "
        "--group {wildcards.exp} {params.args} > {log} 2>&1"


rule figures:
    conda:
        CONDA_ENV
    input:
        aggregates=RESULTS + "/{exp}/aggregates.csv",
        profiles=RESULTS + "/{exp}/profiles.csv",
        curves=RESULTS + "/{exp}/curves.csv",
        improvement=RESULTS + "/{exp}/improvement.csv",
        run_scores=RESULTS + "/{exp}/run_scores.csv",
    output:
        report(RESULTS + "/{exp}/figures/aggregates.png", caption="../report/aggregates.rst",
               category="{exp}"),
        RESULTS + "/{exp}/figures/aggregates.pdf",
        report(RESULTS + "/{exp}/figures/curves.png", caption="../report/curves.rst",
               category="{exp}"),
        RESULTS + "/{exp}/figures/curves.pdf",
        report(RESULTS + "/{exp}/figures/improvement.png", caption="../report/improvement.rst",
               category="{exp}"),
        RESULTS + "/{exp}/figures/improvement.pdf",
        RESULTS + "/{exp}/tables.md",
    log:
        RESULTS + "/{exp}/logs/figures.log",
    shell:
        "pwm-bench figures --kind experiment --aggregates {input.aggregates} --profiles {input.profiles} "
        "--curves {input.curves} --improvement {input.improvement} --run-scores {input.run_scores} "
        "--tables {RESULTS}/{wildcards.exp}/tables.md --out-dir {RESULTS}/{wildcards.exp}/figures > {log} 2>&1"

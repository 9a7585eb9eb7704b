# From run outputs to numbers and figures: collect (+ import published) -> aggregate (rliable) -> figures.


rule collect:
    conda:
        CONDA_ENV
    input:
        lambda wc: run_outputs(wc.exp),
    output:
        scores=results_path("{exp}/scores.csv"),
        # written beside scores.csv from each run's manifest.json (pwm/analysis/provenance.py)
        provenance=report(results_path("{exp}/provenance.csv"), caption="../report/provenance.rst", category="{exp}"),
        cost=report(results_path("{exp}/cost.csv"), caption="../report/cost.rst", category="{exp}"),
    log:
        results_path("{exp}/logs/collect.log"),
    shell:
        "pwm-bench collect {input} --out {output.scores} > {log} 2>&1"


rule import_published:
    conda:
        CONDA_ENV
    # Published results shown beside the experiment's own runs, as '<algo> (published)'.
    input:
        lambda wc: published_entry(wc)["path"],
    output:
        results_path("{exp}/published/{index}.csv"),
    log:
        results_path("{exp}/logs/import_published_{index}.log"),
    params:
        args=published_args,
    shell:
        "pwm-bench import {input} --out {output} {params.args} > {log} 2>&1"


rule aggregate:
    conda:
        CONDA_ENV
    input:
        scores=results_path("{exp}/scores.csv"),
        published=lambda wc: published_outputs(wc.exp),
    output:
        aggregates=results_path("{exp}/aggregates.csv"),
        profiles=results_path("{exp}/profiles.csv"),
        curves=results_path("{exp}/curves.csv"),
        improvement=results_path("{exp}/improvement.csv"),
        run_scores=results_path("{exp}/run_scores.csv"),
        normalization=results_path("{exp}/normalization.csv"),
        seed_advice=results_path("{exp}/seed_advice.csv"),
    log:
        results_path("{exp}/logs/aggregate.log"),
    params:
        args=aggregate_args(config.get("aggregate", {})),
        out_dir=output_dir("aggregates"),
    shell:
        "pwm-bench aggregate {input.scores} {input.published} --out-dir {params.out_dir} "
        "--group {wildcards.exp} {params.args} > {log} 2>&1"


rule compare_published:
    conda:
        CONDA_ENV
    # Only for experiments with `published` entries (experiment_targets asks for it then).
    input:
        scores=results_path("{exp}/scores.csv"),
        published=lambda wc: published_outputs(wc.exp),
    output:
        table=results_path("{exp}/published_comparison.csv"),
        png=report(
            results_path("{exp}/figures/published_comparison.png"),
            caption="../report/published_comparison.rst",
            category="{exp}",
        ),
        pdf=results_path("{exp}/figures/published_comparison.pdf"),
    log:
        results_path("{exp}/logs/compare_published.log"),
    params:
        figure=lambda wc, output: str(Path(output.pdf).with_suffix("")),
        margin=config.get("aggregate", {}).get("published_margin", 0.1),
        reps=config.get("aggregate", {}).get("reps", 2000),
    shell:
        "pwm-bench compare-published {input.scores} {input.published} --out {output.table} "
        "--figure {params.figure} --margin {params.margin} --reps {params.reps} > {log} 2>&1"


rule figures:
    conda:
        CONDA_ENV
    input:
        aggregates=results_path("{exp}/aggregates.csv"),
        profiles=results_path("{exp}/profiles.csv"),
        curves=results_path("{exp}/curves.csv"),
        improvement=results_path("{exp}/improvement.csv"),
        run_scores=results_path("{exp}/run_scores.csv"),
        cost=results_path("{exp}/cost.csv"),
    output:
        aggregates_png=report(
            results_path("{exp}/figures/aggregates.png"), caption="../report/aggregates.rst", category="{exp}"
        ),
        aggregates_pdf=results_path("{exp}/figures/aggregates.pdf"),
        curves_png=report(results_path("{exp}/figures/curves.png"), caption="../report/curves.rst", category="{exp}"),
        curves_pdf=results_path("{exp}/figures/curves.pdf"),
        improvement_png=report(
            results_path("{exp}/figures/improvement.png"), caption="../report/improvement.rst", category="{exp}"
        ),
        improvement_pdf=results_path("{exp}/figures/improvement.pdf"),
        tables=results_path("{exp}/tables.md"),
    log:
        results_path("{exp}/logs/figures.log"),
    params:
        out_dir=output_dir("aggregates_png"),
    shell:
        "pwm-bench figures --kind experiment --aggregates {input.aggregates} --profiles {input.profiles} "
        "--curves {input.curves} --improvement {input.improvement} --run-scores {input.run_scores} "
        "--cost {input.cost} --tables {output.tables} --out-dir {params.out_dir} > {log} 2>&1"

# From run outputs to numbers and figures: collect -> aggregate (rliable) -> figures.


rule collect:
    input:
        lambda wc: run_outputs(wc.exp),
    output:
        RESULTS + "/{exp}/scores.csv",
    log:
        RESULTS + "/{exp}/logs/collect.log",
    shell:
        "pwm-bench collect {input} --out {output} > {log} 2>&1"


rule aggregate:
    input:
        RESULTS + "/{exp}/scores.csv",
    output:
        RESULTS + "/{exp}/aggregates.csv",
        RESULTS + "/{exp}/profiles.csv",
    log:
        RESULTS + "/{exp}/logs/aggregate.log",
    params:
        reps=config.get("aggregate", {}).get("reps", 2000),
        seed=config.get("aggregate", {}).get("seed", 0),
        confidence=config.get("aggregate", {}).get("confidence", 0.95),
    shell:
        "pwm-bench aggregate {input} --out-dir {RESULTS}/{wildcards.exp} --group {wildcards.exp} "
        "--reps {params.reps} --seed {params.seed} --confidence {params.confidence} > {log} 2>&1"


rule figures:
    input:
        scores=RESULTS + "/{exp}/scores.csv",
        aggregates=RESULTS + "/{exp}/aggregates.csv",
        profiles=RESULTS + "/{exp}/profiles.csv",
    output:
        report(RESULTS + "/{exp}/figures/aggregates.png", caption="../report/aggregates.rst",
               category="{exp}"),
        RESULTS + "/{exp}/figures/aggregates.pdf",
        report(RESULTS + "/{exp}/figures/curves.png", caption="../report/curves.rst",
               category="{exp}"),
        RESULTS + "/{exp}/figures/curves.pdf",
    log:
        RESULTS + "/{exp}/logs/figures.log",
    shell:
        "pwm-bench figures --scores {input.scores} --aggregates {input.aggregates} "
        "--profiles {input.profiles} --out-dir {RESULTS}/{wildcards.exp}/figures > {log} 2>&1"

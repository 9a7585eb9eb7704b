# One rule per algorithm. Each is a thin call of `pwm-bench train`; the run directory holds
# eval.csv (the output), log.txt, checkpoint.pt (resume) and config.yaml.
# To add a baseline: write baselines/<name>.py with train(run), copy a rule below as
# train_<name>, and list <name> under an experiment's `algorithms`.


rule train_sac:
    conda:
        CONDA_ENV
    output:
        run_path("sac", "eval.csv"),
    log:
        run_path("sac", "log.txt"),
    priority: 5  # a SAC run's replay buffer can be a multitask world model's data
    threads: 1
    resources:
        mem_mb=4000,
        runtime=24 * 60,
        gpu=GPUS,
    params:
        job=job_env("train_sac"),
        args=lambda wc: train_args(wc, "sac"),
    shell:
        "{params.job} pwm-bench train --algo sac {params.args} --threads {threads} >> {log} 2>&1"


rule train_ppo:
    conda:
        CONDA_ENV
    output:
        run_path("ppo", "eval.csv"),
    log:
        run_path("ppo", "log.txt"),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=12 * 60,
        gpu=GPUS,
    params:
        job=job_env("train_ppo"),
        args=lambda wc: train_args(wc, "ppo"),
    shell:
        "{params.job} pwm-bench train --algo ppo {params.args} --threads {threads} >> {log} 2>&1"


rule train_random_policy:
    conda:
        CONDA_ENV
    output:
        run_path("random_policy", "eval.csv"),
    log:
        run_path("random_policy", "log.txt"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        job=job_env("train_random_policy"),
        args=lambda wc: train_args(wc, "random_policy"),
    shell:
        "{params.job} pwm-bench train --algo random_policy {params.args} --threads {threads} >> {log} 2>&1"


rule train_shac:
    conda:
        CONDA_ENV
    output:
        run_path("shac", "eval.csv"),
    log:
        run_path("shac", "log.txt"),
    # Starts first: a SHAC run's rollouts feed the single-task world model, PWM's longest chain.
    priority: 10
    threads: 1  # the physics threads too; raise with --set-threads (the SLURM profile does)
    resources:
        mem_mb=4000,
        runtime=24 * 60,
        gpu=GPUS,
    params:
        job=job_env("train_shac"),
        args=lambda wc: train_args(wc, "shac"),
    shell:
        "{params.job} pwm-bench train --algo shac {params.args} --threads {threads} >> {log} 2>&1"


rule train_tdmpc2:
    conda:
        CONDA_ENV
    output:
        run_path("tdmpc2", "eval.csv"),
    log:
        run_path("tdmpc2", "log.txt"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=48 * 60,
        gpu=GPUS,
    params:
        job=job_env("train_tdmpc2"),
        args=lambda wc: train_args(wc, "tdmpc2"),
    shell:
        "{params.job} pwm-bench train --algo tdmpc2 {params.args} --threads {threads} >> {log} 2>&1"


# PWM needs a pre-trained world model and offline data: the world-model pipelines' outputs or
# files the config names (pwm_sources and pwm_inputs in common.smk say which).
rule train_pwm:
    conda:
        CONDA_ENV
    input:
        unpack(pwm_inputs),
    output:
        run_path("pwm", "eval.csv"),
    log:
        run_path("pwm", "log.txt"),
    # The end of both world-model chains: starts as soon as its model exists, before the baselines.
    priority: 5
    threads: 1  # two 1-thread jobs use 2 cores better than one 2-thread job; the SLURM profile raises it
    resources:
        mem_mb=8000,
        runtime=24 * 60,
        gpu=GPUS,
    params:
        job=job_env("train_pwm"),
        args=pwm_args,
    shell:
        "{params.job} pwm-bench train --algo pwm {params.args} --threads {threads} >> {log} 2>&1"

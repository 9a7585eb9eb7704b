# PWM's single-task world-model pipeline, per (experiment, task) of kind "single-task" with pwm:
#   train_shac (seed world_model.collect_seed, of this experiment or of world_model.collect_from;
#     its rollouts.pt is the offline data)
#     -> pretrain_single_world_model (PWM's world-model loss; one model per task)
#     -> train_pwm (every seed loads the same model and fine-tunes it online)
# world_model.data.<task> (a chunk file or directory) replaces the SHAC run;
# world_model.checkpoint.<task> (a world_model.pt) replaces pretraining too.
# The helpers (single_offline_input, pretrain_single_args, ...) are in common.smk.


rule landscape:
    conda:
        CONDA_ENV
    # Experiments with a `landscape` block only (experiment_targets asks for it then).
    input:
        unpack(landscape_inputs),
    output:
        gradients=results_path("{exp}/landscape/{task}/landscape_gradients.csv"),
        slices=results_path("{exp}/landscape/{task}/landscape_slices.csv"),
        grid=results_path("{exp}/landscape/{task}/landscape_grid.csv"),
        png=report(
            results_path("{exp}/landscape/{task}/landscape.png"), caption="../report/landscape.rst", category="{exp}"
        ),
        pdf=results_path("{exp}/landscape/{task}/landscape.pdf"),
        table=results_path("{exp}/landscape/{task}/landscape_table.md"),
    log:
        results_path("{exp}/logs/landscape_{task}.txt"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=6 * 60,
    params:
        job=job_env("landscape"),
        args=landscape_args,
    shell:
        "{params.job} pwm-bench landscape {params.args} > {log} 2>&1"


rule pretrain_single_world_model:
    conda:
        CONDA_ENV
    input:
        lambda wc: single_offline_input(wc.exp, wc.task),
    output:
        results_path("{exp}/world_models/{task}/world_model.pt"),
    log:
        results_path("{exp}/logs/pretrain_single_world_model_{task}.txt"),
    priority: 10  # on the single-task chain's critical path (SHAC -> this -> every PWM seed)
    threads: 1  # ~1.1 cores used with 2 threads at the laptop sizes; the SLURM profile raises it
    resources:
        mem_mb=8000,
        runtime=3 * 24 * 60,
        gpu=GPUS,
    params:
        job=job_env("pretrain_single_world_model"),
        args=pretrain_single_args,
    shell:
        "{params.job} pwm-bench pretrain-single {params.args} --threads {threads} >> {log} 2>&1"

# The multitask world-model pipeline of an experiment of kind "multitask" (its `world_model` block):
#   train_tdmpc2 or train_sac (world_model.collect_algo; one run per task, its replay buffer
#     exported to <run>/dataset/; collect_from takes these runs from another experiment)
#     -> build_dataset (suite dataset: task ids, padding, row length)
#     -> pretrain_world_model (offline TD-MPC2 loss, horizon 16, rho 0.99)
#     -> eval_tdmpc2 (per task and seed: MPPI planning with the multitask model, eval.csv)
# eval_tdmpc2 (algo label tdmpc2_planning) is MPPI planning with the world model that PWM uses:
# the model pretrained here with PWM's settings (horizon 16, rho 0.99), planning 3 steps ahead
# (pwm.planning.PlannerConfig: horizon 3, 6 iterations + 2 for action dims >= 20, 512 samples;
# `world_model.planner` overrides these). It is not the TD-MPC2 paper's score, whose agents are
# trained with horizon 3, rho 0.5; import the published numbers for that (`published`).
# `world_model.dataset` (an existing dataset dir, e.g. TD-MPC2's public mt30 chunks) skips the
# collection runs and build_dataset; `world_model.checkpoint` (an existing TD-MPC2-format
# checkpoint) also skips pretraining. The helpers (dataset_dir, pretrain_args, ...) are in
# common.smk.


rule build_dataset:
    conda:
        CONDA_ENV
    input:
        lambda wc: [f"{run}/eval.csv" for run in collection_runs(wc.exp)],
    output:
        results_path("{exp}/dataset/chunk_0.pt"),
    log:
        results_path("{exp}/logs/build_dataset.txt"),
    threads: 1
    resources:
        mem_mb=16000,
        runtime=60,
    params:
        runs=lambda wc: _quote(collection_runs(wc.exp)),
        suite=lambda wc: world_model_spec(wc.exp)["suite"],
        out=lambda wc: f"{RESULTS}/{wc.exp}/dataset",
    shell:
        "pwm-bench build-dataset --task-set {params.suite} --out {params.out} {params.runs} >> {log} 2>&1"


rule pretrain_world_model:
    conda:
        CONDA_ENV
    input:
        # an existing dataset directory is used as it is; otherwise build_dataset makes one
        lambda wc: world_model_spec(wc.exp).get("dataset") or f"{RESULTS}/{wc.exp}/dataset/chunk_0.pt",
    output:
        results_path("{exp}/world_model/model.pt"),
    log:
        results_path("{exp}/logs/pretrain_world_model.txt"),
    priority: 5  # on the multitask chain's critical path: every PWM and planning job waits for it
    threads: 1  # ~1.1 cores used with 2 threads at the laptop sizes; the SLURM profile raises it
    resources:
        mem_mb=16000,
        runtime=7 * 24 * 60,
        gpu=GPUS,
    params:
        job=job_env("pretrain_world_model"),
        args=pretrain_args,
    shell:
        "{params.job} pwm-bench pretrain {params.args} --threads {threads} >> {log} 2>&1"


rule eval_tdmpc2:
    conda:
        CONDA_ENV
    input:
        lambda wc: world_model_checkpoint(wc.exp),
    output:
        run_path(PLANNING_ALGO, "eval.csv"),
    log:
        run_path(PLANNING_ALGO, "log.txt"),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=12 * 60,
        gpu=GPUS,
    params:
        args=eval_planning_args,
    shell:
        "pwm-bench eval-planning {params.args} --threads {threads} >> {log} 2>&1"

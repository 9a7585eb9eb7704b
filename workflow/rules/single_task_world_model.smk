# PWM's single-task world-model pipeline, per (experiment, task) of kind "single-task" with pwm:
#   train_shac (seed world_model.collect_seed, of this experiment or of world_model.collect_from;
#     its rollouts.pt is the offline data)
#     -> pretrain_single_world_model (PWM's world-model loss; one model per task)
#     -> train_pwm (every seed loads the same model and fine-tunes it online)
# world_model.data.<task> (a chunk file or directory) replaces the SHAC run;
# world_model.checkpoint.<task> (a world_model.pt) replaces pretraining too.
from pwm.workflow_config import single_task_collection, uses_single_task_pipeline


def single_task_wm(exp):
    return config["experiments"][exp].get("world_model", {})


def shac_collection_run(exp, task):
    """The SHAC run (of this experiment or of world_model.collect_from) whose rollouts are the data."""
    source, seed = single_task_collection(config, exp)
    return RUN_DIR.format(exp=source, algo="shac", task=task, seed=seed)


def single_offline_data(exp, task):
    """The offline chunks of a task: world_model.data.<task>, else the SHAC run's rollouts.pt."""
    return single_task_wm(exp).get("data", {}).get(task) or shac_collection_run(exp, task) + "/rollouts.pt"


def single_offline_input(exp, task):
    """What a job waits for to read the offline data: the given data, or the SHAC run's eval.csv."""
    return single_task_wm(exp).get("data", {}).get(task) or shac_collection_run(exp, task) + "/eval.csv"


def single_world_model_path(exp, task):
    return (single_task_wm(exp).get("checkpoint", {}).get(task)
            or f"{RESULTS}/{exp}/world_models/{task}/world_model.pt")


def pretrain_single_args(wc):
    spec, wm = config["experiments"][wc.exp], single_task_wm(wc.exp)
    steps = wm.get("per_task", {}).get(wc.task, {}).get("steps", wm.get("steps", 50000))
    hparams = task_budget(spec["algorithms"]["pwm"], wc.task)["hparams"]
    args = ["--task", wc.task, "--data", single_offline_data(wc.exp, wc.task),
            "--out", f"{RESULTS}/{wc.exp}/world_models/{wc.task}", "--steps", steps,
            "--checkpoint-every", wm.get("checkpoint_every", 5000), "--seed", wm.get("seed", 1),
            "--device", config.get("device", "cpu"), "--hparams", json.dumps(hparams)]
    return " ".join(shlex.quote(str(a)) for a in args)


rule pretrain_single_world_model:
    conda:
        CONDA_ENV
    input:
        lambda wc: single_offline_input(wc.exp, wc.task),
    output:
        RESULTS + "/{exp}/world_models/{task}/world_model.pt",
    log:
        RESULTS + "/{exp}/logs/pretrain_single_world_model_{task}.txt",
    priority: 10  # on the single-task chain's critical path (SHAC -> this -> every PWM seed)
    threads: 1  # ~1.1 cores used with 2 threads at the laptop sizes; the SLURM profile raises it
    resources:
        mem_mb=8000,
        runtime=3 * 24 * 60,
        gpu=GPUS,
    params:
        args=pretrain_single_args,
    shell:
        "pwm-bench pretrain-single {params.args} --threads {threads} >> {log} 2>&1"

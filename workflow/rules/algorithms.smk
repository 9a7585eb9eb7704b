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
        args=lambda wc: train_args(wc, "sac"),
    shell:
        "pwm-bench train --algo sac {params.args} --threads {threads} >> {log} 2>&1"


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
        args=lambda wc: train_args(wc, "ppo"),
    shell:
        "pwm-bench train --algo ppo {params.args} --threads {threads} >> {log} 2>&1"


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
        args=lambda wc: train_args(wc, "random_policy"),
    shell:
        "pwm-bench train --algo random_policy {params.args} --threads {threads} >> {log} 2>&1"


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
        args=lambda wc: train_args(wc, "shac"),
    shell:
        "pwm-bench train --algo shac {params.args} --threads {threads} >> {log} 2>&1"


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
        args=lambda wc: train_args(wc, "tdmpc2"),
    shell:
        "pwm-bench train --algo tdmpc2 {params.args} --threads {threads} >> {log} 2>&1"


# PWM needs a pre-trained world model and offline data. In a multitask experiment they are the
# world-model pipeline's outputs (world_model.smk): pretrain_world_model's checkpoint (or
# world_model.checkpoint) and build_dataset's dataset (or world_model.dataset). In a single-task
# experiment they are per task (single_task_world_model.smk): pretrain_single_world_model's
# world_model.pt and the SHAC collection run's rollouts.pt (or world_model.checkpoint/data). A pwm
# budget whose hparams name world_model/data_dir or pretrained_world_model/offline_data uses those.
def pwm_sources(wc):
    """--set key -> path of the run's world model and offline data."""
    spec = config["experiments"][wc.exp]
    if spec["kind"] == "multitask" and spec.get("world_model"):
        return {"world_model": world_model_checkpoint(wc.exp), "data_dir": dataset_dir(wc.exp)}
    if uses_single_task_pipeline(spec):
        return {"pretrained_world_model": single_world_model_path(wc.exp, wc.task),
                "offline_data": single_offline_data(wc.exp, wc.task)}
    hp = task_budget(spec["algorithms"]["pwm"], wc.task)["hparams"]
    keys = ("world_model", "data_dir", "pretrained_world_model", "offline_data")
    return {k: hp[k] for k in keys if hp.get(k)}


def pwm_inputs(wc):
    """The files train_pwm waits for: pwm_sources, except that a dataset directory is waited for
    through build_dataset's chunk_0.pt and a SHAC run's rollouts.pt through its eval.csv (written
    after it)."""
    sources = dict(pwm_sources(wc))
    spec = config["experiments"][wc.exp]
    if spec["kind"] == "multitask" and spec.get("world_model") and not world_model_spec(wc.exp).get("dataset"):
        sources["data_dir"] += "/chunk_0.pt"
    elif uses_single_task_pipeline(spec):
        sources["offline_data"] = single_offline_input(wc.exp, wc.task)
    return sources


def pwm_args(wc):
    args = train_args(wc, "pwm")
    for key, path in pwm_sources(wc).items():
        args += " --set " + shlex.quote(f"{key}={path}")
    return args


rule train_pwm:
    conda:
        CONDA_ENV
    input:
        unpack(pwm_inputs),
    output:
        run_path("pwm", "eval.csv"),
    log:
        run_path("pwm", "log.txt"),
    threads: 1  # two 1-thread jobs use 2 cores better than one 2-thread job; the SLURM profile raises it
    resources:
        mem_mb=8000,
        runtime=24 * 60,
        gpu=GPUS,
    params:
        args=pwm_args,
    shell:
        "pwm-bench train --algo pwm {params.args} --threads {threads} >> {log} 2>&1"

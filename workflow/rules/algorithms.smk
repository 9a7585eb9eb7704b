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
    threads: 1
    resources:
        mem_mb=4000,
        runtime=24 * 60,
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
    threads: 2
    resources:
        mem_mb=4000,
        runtime=24 * 60,
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
    params:
        args=lambda wc: train_args(wc, "tdmpc2"),
    shell:
        "pwm-bench train --algo tdmpc2 {params.args} --threads {threads} >> {log} 2>&1"


# PWM needs a pre-trained world model and offline start states. In an experiment with a
# `world_model` block (world_model.smk included), they are that pipeline's outputs: the checkpoint
# of pretrain_world_model (or world_model.checkpoint) and the dataset of build_dataset (or
# world_model.dataset). Otherwise they come from the budget's hparams.world_model/data_dir
# (multitask) or hparams.pretrained_world_model/offline_data (differentiable tasks), if given.
def pwm_inputs(wc):
    exp = config["experiments"][wc.exp]
    hp = exp["algorithms"]["pwm"].get("hparams", {})
    if exp.get("world_model") and "world_model_checkpoint" in globals():
        data = world_model_spec(wc.exp).get("dataset") or f"{RESULTS}/{wc.exp}/dataset/chunk_0.pt"
        return {"world_model": world_model_checkpoint(wc.exp), "data_dir": data}
    keys = ("world_model", "data_dir", "pretrained_world_model", "offline_data")
    return {k: hp[k] for k in keys if hp.get(k)}


def pwm_args(wc):
    args = train_args(wc, "pwm")
    for key, path in pwm_inputs(wc).items():
        if key == "data_dir" and path.endswith(".pt"):
            path = path.rsplit("/", 1)[0]  # build_dataset's chunk_0.pt stands for its directory
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
    threads: 2
    resources:
        mem_mb=8000,
        runtime=24 * 60,
        gpu=1 if config.get("device", "cpu").startswith("cuda") else 0,
    params:
        args=pwm_args,
    shell:
        "pwm-bench train --algo pwm {params.args} --threads {threads} >> {log} 2>&1"

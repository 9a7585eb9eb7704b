"""Every bad value is refused before work starts, naming it (issue 17, items 2-5): a shorter budget
never reuses a longer run; non-finite scores; hyperparameters at DAG time; corrupt checkpoints,
temp files, full disks; CUDA without CUDA."""

import copy
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import run_to_end, subprocess_env

COMPARED = ["algo", "task", "seed", "step", "env_steps", "episode_reward", "episode_success"]


def sac(out, steps, eval_every):
    return [
        sys.executable,
        "-m",
        "pwm.cli",
        "train",
        "--algo",
        "sac",
        "--task",
        "cartpole-balance",
        "--seed",
        "4",
        "--steps",
        str(steps),
        "--eval-every",
        str(eval_every),
        "--eval-episodes",
        "1",
        "--set",
        "learning_starts=50",
        "--set",
        "batch_size=32",
        "--out",
        str(out),
    ]


# ------------------------------------------------------------------------------- item 2: budgets
def test_a_shorter_budget_starts_over_and_equals_a_fresh_run(tmp_path):
    """steps 600 -> 500 on the same directory: the 600-step checkpoint is set aside and the result
    (eval rows, exported dataset) is the fresh 500-step run's, with a row at step 500."""
    run_to_end(sac(tmp_path / "fresh", 500, 200))
    out = tmp_path / "shortened"
    run_to_end(sac(out, 600, 200))
    stdout = run_to_end(sac(out, 500, 200))
    assert "not resuming: the checkpoint is at step 600, past the budget steps=500" in stdout
    assert (out / "checkpoint.stale.pt").exists()
    fresh, shortened = (pd.read_csv(d / "eval.csv") for d in (tmp_path / "fresh", out))
    assert shortened.step.tolist() == [0, 200, 400, 500]
    pd.testing.assert_frame_equal(shortened[COMPARED], fresh[COMPARED])
    a = torch.load(tmp_path / "fresh" / "dataset" / "chunk_0.pt", weights_only=False)
    b = torch.load(out / "dataset" / "chunk_0.pt", weights_only=False)
    for key in a.keys():
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("kind", ["pretrain", "pretrain-single"])
def test_a_shorter_pretraining_budget_starts_over_and_equals_a_fresh_run(tmp_path, capsys, kind):
    """steps 20 -> 10 on the same directory: the 20-step state.pt is kept as state.stale.pt and the
    world model is the fresh 10-step one's, not the longer job's."""
    train = (multitask_pretraining if kind == "pretrain" else single_task_pretraining)(tmp_path)
    fresh = train(tmp_path / "fresh", 10)
    out = tmp_path / "wm"
    train(out, 20)
    capsys.readouterr()
    shortened = train(out, 10)
    log = capsys.readouterr().out
    assert (
        f"not resuming: {out / 'state.pt'} is at step 20, past the budget steps=10; it is kept as "
        f"{out / 'state.stale.pt'}" in log
    )
    assert_same_weights(fresh, shortened)


@pytest.mark.parametrize(
    "kind, change, changed",
    [
        ("pretrain", {"seed": 7}, "seed: 1 -> 7"),
        ("pretrain", {"hparams": {"lr": 0.01}}, "hparams: {} -> {'lr': 0.01}"),
        ("pretrain-single", {"wm_lr": 0.01}, "wm_lr: 0.0003 -> 0.01"),
    ],
)
def test_a_pretraining_state_of_other_settings_is_set_aside_not_resumed(tmp_path, capsys, kind, change, changed):
    """Snakemake reruns a pretraining job whose params changed in the same folder: the job starts
    over (= a fresh job of the new settings) instead of continuing the old one with the new ones."""
    train = (multitask_pretraining if kind == "pretrain" else single_task_pretraining)(tmp_path)
    fresh = train(tmp_path / "fresh", 20, **change)
    out = tmp_path / "wm"
    train(out, 10)
    capsys.readouterr()
    rerun = train(out, 20, **change)
    log = capsys.readouterr().out
    assert (
        f"not resuming: {out / 'state.pt'} was written with other settings ({changed}); it is kept as "
        f"{out / 'state.stale.pt'}" in log
    )
    assert_same_weights(fresh, rerun)


def settings(out, **kw):
    from pwm.run import RunSettings

    return RunSettings(
        **{**dict(algo="sac", task="cartpole-balance", seed=1, out_dir=str(out), steps=100, eval_every=50), **kw}
    )


def test_set_aside_checkpoints_never_overwrite_earlier_ones(tmp_path, capsys):
    from pwm.run import Run

    Run(settings(tmp_path)).save_checkpoint(10, {})
    assert Run(settings(tmp_path, hparams={"tau": 0.01})).load_checkpoint() is None
    Run(settings(tmp_path, hparams={"tau": 0.01})).save_checkpoint(10, {})
    assert Run(settings(tmp_path, hparams={"tau": 0.02})).load_checkpoint() is None
    assert (tmp_path / "checkpoint.stale.pt").exists() and (tmp_path / "checkpoint.stale.1.pt").exists()
    assert torch.load(tmp_path / "checkpoint.stale.1.pt")["settings"]["hparams"] == {"tau": 0.01}


def test_a_larger_budget_drops_the_old_final_row_off_the_new_schedule(tmp_path):
    from pwm.run import Run

    first = Run(settings(tmp_path, steps=75))
    first.rows = [dict(step=0), dict(step=50), dict(step=75)]
    first.save_checkpoint(75, {})
    longer = Run(settings(tmp_path, steps=100))
    assert longer.load_checkpoint() == {}
    assert [r["step"] for r in longer.rows] == [0, 50] and longer.next_eval_step() == 100


# --------------------------------------------------------------------------- item 5: checkpoints
def test_a_corrupt_checkpoint_is_set_aside_and_the_run_starts_over(tmp_path, capsys):
    from pwm.run import Run

    (tmp_path / "checkpoint.pt").write_bytes(b"PK\x03\x04 not really a zip")
    assert Run(settings(tmp_path)).load_checkpoint() is None
    out = capsys.readouterr().out
    assert f"not resuming: {tmp_path / 'checkpoint.pt'} cannot be read" in out
    assert f"kept as {tmp_path / 'checkpoint.corrupt.pt'}" in out
    Run(settings(tmp_path)).save_checkpoint(5, {})
    data = (tmp_path / "checkpoint.pt").read_bytes()
    (tmp_path / "checkpoint.pt").write_bytes(data[: len(data) // 2])  # truncated mid-write by a full disk
    assert Run(settings(tmp_path)).load_checkpoint() is None
    assert (tmp_path / "checkpoint.corrupt.pt").read_bytes().startswith(b"PK\x03\x04 not")  # the first one kept
    assert (tmp_path / "checkpoint.corrupt.1.pt").exists() and not (tmp_path / "checkpoint.pt").exists()


def damage(path, how):
    """A real state file made unreadable: cut in half (a write cut short outside pwm-bench's atomic
    writes, e.g. by a copy onto a full disk) or its archive header overwritten."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if how == "truncated" else b"\x00garbled" * 8 + data[72:])
    return path.read_bytes()


def multitask_pretraining(root):
    """``train(out, steps)`` -> the final weights of a tiny real `pwm-bench pretrain` (mt30, size 1)."""
    from pwm.checkpoint import load_tdmpc2
    from pwm.data.build import build_dataset
    from pwm.pretrain import PretrainSettings, pretrain
    from test_pretrain import fake_run

    build_dataset([fake_run(root / "cb", "cartpole-balance", 5, 1, episodes=1)], "mt30", root / "data")

    def train(out, steps, **settings):
        final = pretrain(
            PretrainSettings(
                data_dirs=[str(root / "data")],
                out_dir=str(out),
                model_size=1,
                horizon=4,
                batch_size=8,
                steps=steps,
                checkpoint_every=10,
                log_every=10,
                **settings,
            )
        )
        return load_tdmpc2(final).state_dict()

    return train


def single_task_pretraining(root):
    """``train(out, steps)`` -> the final weights of a tiny real `pwm-bench pretrain-single` (cartpole)."""
    from pwm.agent import load_hparams
    from pwm.singletask_pretrain import pretrain_single
    from test_pwm_singletask import offline_chunk

    offline_chunk(root / "data" / "chunk_0.pt", steps=60)
    tiny = {"wm_latent_dim": 16, "wm_enc_dim": 16, "wm_mlp_dim": 16, "horizon": 4, "wm_batch_size": 8}

    def train(out, steps, **hparams):
        cfg = load_hparams({**tiny, **hparams})
        final = pretrain_single("cartpole", [str(root / "data")], str(out), cfg, steps, checkpoint_every=5)
        return torch.load(final, weights_only=True)["model"]

    return train


def assert_same_weights(a: dict, b: dict):
    for key, value in a.items():
        if torch.is_tensor(value):
            torch.testing.assert_close(b[key], value, rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("how", ["truncated", "garbled"])
def test_a_corrupt_pretraining_state_is_set_aside_and_pretraining_starts_over(tmp_path, capsys, how):
    """`pwm-bench pretrain`: the unreadable state.pt is kept as state.corrupt.pt (a second one as
    state.corrupt.1.pt), one line says so, and the result equals a fresh run's, bit for bit."""
    train, out = multitask_pretraining(tmp_path), tmp_path / "wm"
    fresh = train(tmp_path / "fresh", 20)
    train(out, 10)
    state = out / "state.pt"
    first = damage(state, how)
    capsys.readouterr()
    final = train(out, 20)
    log = capsys.readouterr().out
    assert f"[pretrain] not resuming: {state} cannot be read (" in log
    assert f"it is kept as {out / 'state.corrupt.pt'} and pretraining starts from step 0" in log
    assert "steps 0 -> 20" in log and "resuming from" not in log
    assert_same_weights(fresh, final)
    damage(state, how)
    train(out, 30)
    assert (out / "state.corrupt.pt").read_bytes() == first  # the earlier one is never overwritten
    assert (out / "state.corrupt.1.pt").exists() and torch.load(state, weights_only=True)["step"] == 30


def test_a_corrupt_single_task_pretraining_state_is_set_aside_and_pretraining_starts_over(tmp_path, capsys):
    """`pwm-bench pretrain-single`: the same, on a real state.pt of a tiny pre-training of cartpole;
    an intact one still resumes, and a planted pickle is refused, not set aside as merely corrupt."""
    from pwm.signing import UntrustedFileError
    from test_untrusted_files import Planted

    train, out = single_task_pretraining(tmp_path), tmp_path / "wm"
    fresh = train(tmp_path / "fresh", 10)
    train(out, 5)
    state = out / "state.pt"
    first = damage(state, "truncated")
    capsys.readouterr()
    final = train(out, 10)
    log = capsys.readouterr().out
    assert f"[pretrain-single] not resuming: {state} cannot be read (" in log
    assert f"it is kept as {out / 'state.corrupt.pt'} and pre-training starts from step 0" in log
    assert "steps 0 -> 10" in log and "resuming from" not in log
    assert_same_weights(fresh, final)
    damage(state, "garbled")
    train(out, 15)
    assert (out / "state.corrupt.pt").read_bytes() == first and (out / "state.corrupt.1.pt").exists()
    capsys.readouterr()
    train(out, 20)
    assert f"[pretrain-single] resuming from {state} at step 15" in capsys.readouterr().out
    torch.save({**torch.load(state, weights_only=True), "history": [Planted(tmp_path / "marker")]}, state)
    with pytest.raises(UntrustedFileError, match=f"{state}: refusing to load this pretraining state"):
        train(out, 25)
    assert not (tmp_path / "marker").exists() and state.exists()


def test_stale_temp_files_of_a_killed_write_are_removed_on_start(tmp_path, capsys):
    from pwm.run import Run

    (tmp_path / "dataset").mkdir()
    left = [tmp_path / ".checkpoint.pt.abc123.tmp", tmp_path / "dataset" / ".chunk_0.pt.x.tmp"]
    for path in left:
        path.write_bytes(b"half")
    Run(settings(tmp_path))
    assert not any(p.exists() for p in left)
    assert f"removed {left[0]}" in capsys.readouterr().out


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 64 KiB file system (tmpfs), so a write fails with ENOSPC as on a full disk."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_names_the_file_and_the_cause_and_leaves_no_temp_file(tiny_disk):
    from pwm import atomic
    from pwm.checkpoint import save_tdmpc2
    from pwm.world_model import WorldModel, WorldModelConfig

    target = tiny_disk / "checkpoint.pt"
    with pytest.raises(atomic.WriteError, match=rf"could not write {target}: no space left on the device"):
        atomic.torch_save(target, {"x": torch.zeros(100_000)})
    with pytest.raises(atomic.WriteError, match=rf"could not write {tiny_disk / 'model.pt'}: no space left"):
        save_tdmpc2(WorldModel(WorldModelConfig.for_model_size(1, 5, 2)), tiny_disk / "model.pt")
    assert list(tiny_disk.iterdir()) == []  # no partial file, no temp file


def test_an_unwritable_destination_names_the_file_and_the_cause(tmp_path):
    from pwm import atomic

    (tmp_path / "file").write_text("")
    with pytest.raises(atomic.WriteError, match=rf"could not write {tmp_path / 'file' / 'x.csv'}: File exists"):
        atomic.write_text(tmp_path / "file" / "x.csv", "a")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_one_clear_line(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "pwm.cli",
        "train",
        "--algo",
        "random_policy",
        "--task",
        "cartpole-balance",
        "--seed",
        "1",
        "--steps",
        "10",
        "--eval-every",
        "10",
        "--device",
        "cuda",
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "pwm-bench train: error: device 'cuda' requested but CUDA is not available on this machine "
        f"(torch {torch.__version__}); run with --device cpu (config: device: cpu) or on a GPU node"
    ]


# ------------------------------------------------------------------- item 4: config, hyperparameters
BASE = {
    "device": "cpu",
    "experiments": {
        "e": {
            "kind": "single-task",
            "tasks": ["cartpole-balance"],
            "seeds": [1],
            "algorithms": {"sac": {"steps": 2000, "eval_every": 1000, "eval_episodes": 10, "hparams": {}}},
        }
    },
}
ALGORITHMS = ["pwm", "ppo", "random_policy", "sac", "shac", "tdmpc2"]


def check(change=None, algo="sac", budget=None, **experiment):
    from pwm.workflow_config import check_experiments

    config = copy.deepcopy(BASE)
    if budget is not None:
        config["experiments"]["e"]["algorithms"] = {algo: {"steps": 2000, "eval_every": 1000, **budget}}
    config["experiments"]["e"].update(experiment)
    if change:
        change(config)
    check_experiments(config, ALGORITHMS, local_exec=True)


@pytest.mark.parametrize(
    "algo, hparams, message",
    [
        (
            "sac",
            {"batch_size": "big"},
            "experiments.e.algorithms.sac: sac hyperparameter batch_size='big' is a string, expected an integer",
        ),
        (
            "sac",
            {"learning_startz": 10},
            "unknown sac hyperparameters ['learning_startz'] ('learning_startz': did you mean learning_starts",
        ),
        ("ppo", {"n_steps": 256.0}, "ppo hyperparameter n_steps=256.0 is a float, expected an integer (write 256"),
        (
            "tdmpc2",
            {"batch_size": "big"},
            # one form for every algorithm (pwm.hparams): the budget's path, then the loader's message
            "experiments.e.algorithms.tdmpc2: tdmpc2 hyperparameter batch_size='big' is a string, expected an integer",
        ),
        ("tdmpc2", {"horizn": 3}, "unknown tdmpc2 hyperparameters ['horizn'] ('horizn': did you mean horizon"),
        ("pwm", {"batch_size": "big"}, "pwm hyperparameter batch_size='big' is a string, expected an integer"),
        ("random_policy", {"x": 1}, "experiments.e.algorithms.random_policy: random_policy takes no hyperparameters"),
    ],
)
def test_hyperparameters_are_checked_when_the_dag_is_built(algo, hparams, message):
    from pwm.workflow_config import ConfigError

    with pytest.raises(ConfigError) as err:
        check(algo=algo, budget={"hparams": hparams})
    assert message in str(err.value)


def test_shac_hyperparameters_follow_the_preset_and_per_task_merges():
    from pwm.workflow_config import ConfigError

    check(algo="shac", budget={"hparams": {"preset": "pwm", "num_envs": 8}}, tasks=["cartpole"])
    with pytest.raises(ConfigError, match="SHAC hyperparameter num_envs='8' is a string, expected an integer"):
        check(algo="shac", budget={"hparams": {"num_envs": "8"}}, tasks=["cartpole"])
    with pytest.raises(
        ConfigError,
        match=r"experiments.e.algorithms.sac.per_task.cartpole-balance: sac "
        r"hyperparameter tau='x'",
    ):
        check(budget={"per_task": {"cartpole-balance": {"hparams": {"tau": "x"}}}})
    check(budget={"hparams": {"ent_coef": 0.1, "train_freq": [1, "episode"], "learning_rate": 0.001}})


def test_a_scientific_number_read_as_text_gets_a_hint():
    from pwm.workflow_config import ConfigError

    with pytest.raises(
        ConfigError,
        match=r"learning_rate='1e-3' is a string, expected a number \(YAML reads 1e-3 "
        r"as text: write it with a decimal point, e.g. 0.001\)",
    ):
        check(budget={"hparams": {"learning_rate": "1e-3"}})


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda c: c["experiments"]["e"]["algorithms"]["sac"].update(steps=2000.0),
            "experiments.e.algorithms.sac.steps=2000.0: expected an integer, got a float (write 2000)",
        ),
        (lambda c: c["experiments"]["e"].update(seeds=[1.0]), "experiments.e.seeds[0]=1.0: expected an integer"),
        (
            lambda c: c["experiments"]["e"]["algorithms"]["sac"].update(
                per_task={"cartpole-balance": {"eval_every": 5.5}}
            ),
            "experiments.e.algorithms.sac.per_task.cartpole-balance.eval_every=5.5: expected an integer, got a float",
        ),
    ],
)
def test_integer_settings_reject_floats(change, message):
    from pwm.workflow_config import ConfigError

    with pytest.raises(ConfigError) as err:
        check(change)
    assert str(err.value) == message or str(err.value).startswith(message)


def test_multitask_needs_a_world_model_block():
    from pwm.workflow_config import ConfigError

    with pytest.raises(ConfigError, match="experiments.e: kind multitask needs a world_model block"):
        check(kind="multitask")


def test_collect_budgets_are_checked_with_the_collecting_algorithm():
    from pwm.workflow_config import ConfigError

    world_model = {
        "suite": "mt30",
        "collect_algo": "sac",
        "collect": {"steps": 10, "eval_every": 10, "hparams": {"batch_size": "big"}},
    }
    with pytest.raises(ConfigError, match="experiments.e.world_model.collect: sac hyperparameter batch_size='big'"):
        check(kind="multitask", world_model=world_model)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_config_without_cuda_fails_at_dag_time_unless_a_cluster_runs_the_jobs():
    from pwm.workflow_config import ConfigError, check_device

    with pytest.raises(ConfigError, match="device: 'cuda', but CUDA is not available on this machine"):
        check(lambda c: c.update(device="cuda"))
    check_device({"device": "cuda"}, local_exec=False)  # SLURM nodes may have GPUs


def test_a_bad_sac_value_fails_before_any_step_is_trained(tmp_path):
    cmd = sac(tmp_path, 2000, 1000)[:-2] + ["--set", "batch_size=big", "--out", str(tmp_path)]
    result = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 3
    assert "sac hyperparameter batch_size='big' is a string, expected an integer" in result.stderr
    assert not (tmp_path / "checkpoint.pt").exists() and "training" not in result.stdout


def test_a_bad_shac_value_fails_in_one_line_at_run_start(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "pwm.cli",
        "train",
        "--algo",
        "shac",
        "--task",
        "cartpole",
        "--seed",
        "1",
        "--steps",
        "256",
        "--eval-every",
        "128",
        "--set",
        'num_envs="8"',
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        "pwm-bench train: error: SHAC hyperparameter num_envs='8' is a string, expected an integer"
    ]
    assert not (tmp_path / "checkpoint.pt").exists()


# ------------------------------------------------------------------------------ item 3: scores
def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_import_refuses_infinite_scores_naming_the_true_line(tmp_path):
    from pwm.analysis.importers import MalformedInput, import_published

    path = write(tmp_path / "walker-walk.csv", "step,reward,seed\n0,1.0,1\n\n\n2,inf,1\n")
    with pytest.raises(MalformedInput, match=rf"{path}, line 5, column 2 'reward': 'inf' is not a finite number"):
        import_published("tdmpc2-results", "tdmpc2", [path])
    path = write(tmp_path / "walker-walk.csv", "step,reward,seed\n0,1.0,1\n\n2,x,1\n")
    with pytest.raises(MalformedInput, match=r"line 4, column 2 'reward': 'x' is not a number"):
        import_published("tdmpc2-results", "tdmpc2", [path])
    path = write(tmp_path / "mt30.csv", "task,episode_reward,episode_success\nwalker-walk,-inf,0\n")
    with pytest.raises(MalformedInput, match=r"line 2, column 2 'episode_reward': '-inf' is not a finite"):
        import_published("pwm-multitask", "pwm", [path])


@pytest.mark.parametrize("column, cell", [("step", "2.5"), ("seed", "1.5")])
def test_import_refuses_fractional_steps_and_seeds(tmp_path, column, cell):
    from pwm.analysis.importers import MalformedInput, import_published

    row = {"step": "2", "reward": "1.0", "seed": "1", column: cell}
    path = write(
        tmp_path / "walker-walk.csv", f"step,reward,seed\n0,1,1\n{row['step']},{row['reward']},{row['seed']}\n"
    )
    with pytest.raises(MalformedInput, match=rf"line 3, column \d '{column}': '{cell}' is not an integer"):
        import_published("tdmpc2-results", "tdmpc2", [path])


def test_import_names_an_undecodable_file(tmp_path):
    from pwm.analysis.importers import MalformedInput, import_published

    path = write(tmp_path / "walker-walk.csv", "step,reward,seed\n0,1.0,1\n2,1.0,1 café\n", encoding="latin-1")
    with pytest.raises(MalformedInput, match=rf"{path}, line 3: not UTF-8 text"):
        import_published("tdmpc2-results", "tdmpc2", [path])


def scores_file(path, rewards):
    frame = pd.DataFrame(
        dict(
            algo="sac",
            task="cartpole-balance",
            seed=[1, 1, 2, 2],
            step=[0, 10, 0, 10],
            env_steps=[0, 10, 0, 10],
            wall_time_s=1.0,
            episode_reward=rewards,
            episode_success=0.0,
        )
    )
    frame.to_csv(path, index=False)
    return path


def test_aggregate_refuses_infinite_scores_naming_the_run_and_step(tmp_path):
    from pwm.analysis.aggregate import check_scores
    from pwm.analysis.normalize import normalize
    from pwm.analysis.scores import read_scores

    frame = pd.read_csv(scores_file(tmp_path / "s.csv", [1.0, 2.0, 3.0, 4.0]))
    frame.loc[3, "episode_reward"] = np.inf
    scores, _ = normalize(frame, "tdmpc2", None, 1)
    with pytest.raises(ValueError, match=r"\+inf scores in 1 rows of 1 runs") as err:
        check_scores(scores)
    assert "sac cartpole-balance     2    10" in str(err.value)
    path = scores_file(tmp_path / "t.csv", [1.0, 2.0, 3.0, float("inf")])
    with pytest.raises(ValueError, match=rf"{path}, line 5, column 'episode_reward': 'inf' is not a finite number"):
        read_scores([path])


def test_aggregate_command_exits_with_an_error_on_inf(tmp_path):
    path = scores_file(tmp_path / "s.csv", [1.0, 2.0, 3.0, float("inf")])
    result = subprocess.run(
        [sys.executable, "-m", "pwm.cli", "aggregate", str(path), "--out-dir", str(tmp_path / "agg"), "--reps", "10"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "is not a finite number" in result.stderr
    assert not (tmp_path / "agg" / "aggregates.csv").exists()

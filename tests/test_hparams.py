"""One hyperparameter mechanism (pwm.hparams): documented defaults in one YAML file per algorithm,
read strictly, and one override syntax, key=value in Hydra's grammar, on the command line and from
Snakemake; `pwm-bench train --show-config` prints what a run would use."""

from __future__ import annotations

import inspect
import re
import shlex
import sys

import pytest
import yaml

from helpers import PROJECT_ROOT, copy_workflow, fresh_python, run
from pwm import hparams
from pwm.cli import EXIT_BAD_INPUT, EXIT_USAGE, main

YAML_FILES = {
    "pwm": "pwm/configs/pwm.yaml",
    "tdmpc2": "pwm/configs/tdmpc2.yaml",
    "shac": "baselines/configs/shac.yaml",
    "sac": "baselines/configs/sac.yaml",
    "ppo": "baselines/configs/ppo.yaml",
}
HEAVY = ("torch", "stable_baselines3", "gymnasium", "dm_control", "mujoco", "metaworld", "pandas")


def source(algo: str) -> dict:
    """An algorithm's YAML file read independently of the loader (OmegaConf reads 1e-3 as a float)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(PROJECT_ROOT / YAML_FILES[algo]))


# ------------------------------------------------------------------------ where the defaults live
def test_each_algorithm_has_its_file_found_without_importing_it():
    from pwm import algorithms

    assert {a: hparams.shown_path(hparams.defaults_path(a)) for a in YAML_FILES} == YAML_FILES
    assert hparams.defaults_path("random_policy") is None
    assert hparams.defaults_files() == {a: YAML_FILES[a] for a in hparams.defaults_files()}
    assert set(hparams.defaults_files()) == set(YAML_FILES)
    assert set(YAML_FILES) <= set(algorithms.available())


def test_every_default_is_the_files_value_and_every_new_key_documented():
    for algo in ("pwm", "tdmpc2", "sac", "ppo"):
        assert hparams.resolve(algo) == source(algo), algo
    # the files that moved out of Python say on each key's line what it is (or in the comment above)
    for algo in ("shac", "sac", "ppo"):
        lines = (PROJECT_ROOT / YAML_FILES[algo]).read_text().splitlines()
        for key in hparams.resolve(algo, "hopper" if algo == "shac" else None):
            (n,) = [i for i, line in enumerate(lines) if line.lstrip().startswith(f"{key}:")][:1]
            assert "#" in lines[n] or lines[n - 1].lstrip().startswith("#"), (algo, key, lines[n])


def test_unknown_key_names_it_the_algorithm_a_close_match_and_the_allowed_keys():
    with pytest.raises(ValueError) as err:
        hparams.resolve("tdmpc2", None, {"horizn": 3})
    message = str(err.value)
    assert message.startswith("unknown tdmpc2 hyperparameters ['horizn'] ('horizn': did you mean horizon")
    assert "allowed (pwm/configs/tdmpc2.yaml): " in message and "batch_size" in message and "tau" in message
    with pytest.raises(ValueError, match=r"^where: unknown sac hyperparameters \['x'\]; allowed "):
        hparams.resolve("sac", "cartpole-balance", {"x": 1}, where="where")
    with pytest.raises(ValueError, match=r"^random_policy takes no hyperparameters, got \['x'\]$"):
        hparams.resolve("random_policy", "cartpole-balance", {"x": 1})
    assert hparams.resolve("random_policy", "cartpole-balance", {}) == {}
    with pytest.raises(ValueError, match="unknown algorithm 'sacc' \\(did you mean sac"):
        hparams.resolve("sacc")


def test_a_value_of_the_wrong_type_names_key_value_and_expected_type():
    with pytest.raises(ValueError, match=r"^ppo hyperparameter batch_size='big' is a string, expected an integer$"):
        hparams.resolve("ppo", None, {"batch_size": "big"})
    with pytest.raises(ValueError, match=r"n_steps=256.0 is a float, expected an integer \(write 256"):
        hparams.resolve("ppo", None, {"n_steps": 256.0})
    with pytest.raises(ValueError, match=r"SHAC hyperparameter num_envs='8' is a string"):
        hparams.resolve("shac", "hopper", {"num_envs": "8"})
    # types the default's own does not tell (pwm.hparams.TYPES)
    assert hparams.resolve("sac", None, {"ent_coef": 0.1, "train_freq": [1, "episode"]})["ent_coef"] == 0.1
    assert hparams.resolve("tdmpc2", None, {"episodic": True})["episodic"] is True
    assert hparams.resolve("ppo", None, {"target_kl": 0.02, "learning_rate": 1})["target_kl"] == 0.02
    with pytest.raises(ValueError, match="action_noise=.* expected null"):
        hparams.resolve("sac", None, {"action_noise": "normal"})
    # a null default (a path, a derived value) takes anything
    assert hparams.resolve("pwm", None, {"world_model": "m.pt"})["world_model"] == "m.pt"


def test_shac_precedence_defaults_then_preset_then_task_block_then_overrides():
    common = source("shac")
    pwm_preset = common["presets"]["pwm"]
    # common < preset: critic_grad_norm is the preset's; horizon the common one
    cfg = hparams.resolve("shac", "ant", {"preset": "pwm"})
    assert cfg["horizon"] == common["horizon"] == 32
    assert cfg["critic_grad_norm"] == pwm_preset["critic_grad_norm"] == 100.0
    # preset < its task block: ant's 128 envs over the preset's 64
    assert pwm_preset["num_envs"] == 64 and cfg["num_envs"] == pwm_preset["per_task"]["ant"]["num_envs"] == 128
    assert hparams.resolve("shac", "hopper", {"preset": "pwm"})["num_envs"] == 64
    # task block < the user's override
    assert hparams.resolve("shac", "ant", {"preset": "pwm", "num_envs": 32})["num_envs"] == 32
    # diffrl (the file's default preset): per-task networks and target rates
    hopper = hparams.resolve("shac", "hopper", {})
    assert hopper["preset"] == "diffrl" and hopper["num_envs"] == 256 and hopper["critic_lr"] == 2e-4
    assert hparams.resolve("shac", "humanoid")["target_alpha"] == 0.995
    # a key of the other preset is named as such
    with pytest.raises(ValueError, match=r"\('target_alpha' is a hyperparameter of preset diffrl\)"):
        hparams.resolve("shac", "hopper", {"preset": "pwm", "target_alpha": 0.2})
    with pytest.raises(ValueError, match=r"^unknown SHAC preset 'v2'; allowed: 'diffrl', 'pwm'$"):
        hparams.resolve("shac", "hopper", {"preset": "v2"})


def test_shac_file_and_module_agree():
    from baselines import shac

    assert tuple(hparams.presets("shac")) == shac.PRESETS
    assert hparams.tasks_with_defaults("shac") == list(shac_tasks())
    for preset in shac.PRESETS:
        for task in shac_tasks():
            cfg = shac.config_for(task, {"preset": preset})
            assert None not in cfg.values() or cfg["obs_clip"] is None, (preset, task)
            assert isinstance(cfg["betas"], tuple)


def shac_tasks():
    """Every MuJoCo differentiable task has a block; every dflex task takes its twin's."""
    from pwm.envs.suites import DFLEX_TASKS, DIFFERENTIABLE_TASKS

    return DIFFERENTIABLE_TASKS + DFLEX_TASKS


def test_a_defaults_file_is_held_to_its_own_rules(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("a: 1\nper_task:\n  hopper: {b: 2}\n")
    with pytest.raises(ValueError, match=r"per_task.hopper: \['b'\] are not hyperparameters defined above it"):
        hparams._read(bad)
    bad.write_text("a: 1\npresets:\n  p: {b: 2}\n")
    with pytest.raises(ValueError, match="needs a hyperparameter preset naming the default one"):
        hparams._read(bad)
    bad.write_text("a: 1\na: 2\n")
    with pytest.raises(ValueError, match="duplicate key 'a'"):
        hparams._read(bad)
    good = tmp_path / "y.yaml"
    good.write_text("a: 1e-3\npreset: p\npresets:\n  p: {b: 2, per_task: {hopper: {b: 3, a: 0.5}}}\n")
    spec = hparams._read(good)
    assert spec["common"]["a"] == 0.001  # YAML 1.2 floats, as OmegaConf reads them


# ------------------------------------------------------------------------ the override grammar
@pytest.mark.parametrize(
    "text, key, value",
    [
        ("num_envs=64", "num_envs", 64),
        ("lr=1e-3", "lr", 0.001),
        ("lr=3.0e-4", "lr", 3e-4),
        ("tau=-0.5", "tau", -0.5),
        ("mpc=false", "mpc", False),
        ("mpc=True", "mpc", True),
        ("seed_steps=null", "seed_steps", None),
        ("betas=[0.7,0.95]", "betas", [0.7, 0.95]),
        ("train_freq=[1,episode]", "train_freq", [1, "episode"]),
        ("policy_kwargs={net_arch:[64,64]}", "policy_kwargs", {"net_arch": [64, 64]}),
        ("name='a b=c, d'", "name", "a b=c, d"),
        ('num_envs="8"', "num_envs", "8"),
        ("path=/tmp/run-1/model.pt", "path", "/tmp/run-1/model.pt"),
        ("policy_kwargs.net_arch=[64,64]", "policy_kwargs.net_arch", [64, 64]),
    ],
)
def test_overrides_parse_by_hydras_grammar(text, key, value):
    parsed = hparams.parse_override(text)
    assert parsed == (key, value) and type(parsed[1]) is type(value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("no_equals_sign", "expected KEY=VALUE, got 'no_equals_sign'"),
        ("a=1,2", "is a Hydra sweep"),
        ("+a=1", "+key / ++key / ~key"),
        ("a@pkg=1", "key@package"),
        ("a=[1,", "is not a KEY=VALUE override"),
    ],
)
def test_malformed_overrides_are_refused_naming_them(text, message):
    with pytest.raises(ValueError, match=message.replace("+", "\\+").replace("[", "\\[")):
        hparams.parse_override(text)


def test_dotted_keys_nest_and_later_items_win():
    assert hparams.overrides_dict(["a.b=1", "a.c=[1]", "d=2", "d=3"]) == {"a": {"b": 1, "c": [1]}, "d": 3}
    with pytest.raises(ValueError, match="not a mapping"):
        hparams.overrides_dict(["a=1", "a.b=2"])


VALUES = [
    0,
    -3,
    1.5,
    1e-05,
    1e20,
    float("inf"),
    True,
    None,
    "auto",
    "auto_0.1",
    "results/exp/runs/sac/cartpole-swingup/seed1/rollouts.pt",
    "/abs/path with space/x.pt",
    "8",
    "1e-3",
    "true",
    "null",
    "inf",
    "a,b",
    "a=b",
    "it's",
    'say "hi"',
    "back\\slash\\",
    "trailing\\'quote",
    "${not_an_interpolation}",
    "",
    [],
    {},
    [1, "episode"],
    {"net_arch": [64, 64], "activation": "tanh", "nested": {"x": None}},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_written_as_overrides_parse_back(value):
    text = hparams.format_override("key", value)
    # through the shell as the Snakemake rules quote it
    (item,) = shlex.split(shlex.quote(text))
    assert hparams.parse_override(item) == ("key", value)


# ------------------------------------------------------------------------ the command line
def run_main(argv, capsys) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exit:
        code = exit.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("algo, task", [(a, "hopper" if a == "shac" else "cartpole-balance") for a in YAML_FILES])
def test_show_config_prints_the_resolved_settings(algo, task, capsys):
    code, out, err = run_main(["train", "--algo", algo, "--task", task, "--show-config"], capsys)
    assert code == 0, err
    shown = yaml.safe_load(out)
    assert shown["algo"] == algo and shown["task"] == task and shown["device"] == "cpu"
    assert shown["eval_episodes"] == 10 and shown["steps"] is None and shown["overrides"] == {}
    assert shown["defaults_file"] == YAML_FILES[algo]
    file = source(algo)
    if algo == "shac":
        block = file["presets"]["diffrl"]["per_task"][task]
        assert shown["hparams"]["num_envs"] == block["num_envs"] and shown["hparams"]["horizon"] == file["horizon"]
    else:
        assert shown["hparams"] == file
    # overrides are applied and listed
    key, value = SMALL_CHANGE[algo]
    code, out, _ = run_main(
        ["train", "--algo", algo, "--task", task, "--seed", "3", "--show-config", f"{key}={value}"], capsys
    )
    shown = yaml.safe_load(out)
    assert code == 0 and shown["seed"] == 3 and shown["overrides"] == {key: value} and shown["hparams"][key] == value


SMALL_CHANGE = {
    "pwm": ("horizon", 8),
    "tdmpc2": ("lr", 0.001),
    "shac": ("horizon", 8),
    "sac": ("tau", 0.01),
    "ppo": ("n_epochs", 3),
}


def test_show_config_of_random_policy_and_of_a_bad_key(capsys):
    code, out, _ = run_main(["train", "--algo", "random_policy", "--task", "hopper", "--show-config"], capsys)
    assert code == 0 and yaml.safe_load(out)["hparams"] == {} and yaml.safe_load(out)["defaults_file"] is None
    code, _, err = run_main(["train", "--algo", "sac", "--task", "hopper", "--show-config", "horizn=3"], capsys)
    assert code == EXIT_BAD_INPUT and "unknown sac hyperparameters ['horizn']" in err


def test_show_config_refuses_a_task_the_algorithm_cannot_run(capsys):
    code, _, err = run_main(["train", "--algo", "shac", "--task", "walker-walk", "--show-config"], capsys)
    assert code == EXIT_BAD_INPUT and "shac trains on tasks of family differentiable" in err
    code, _, err = run_main(["train", "--algo", "sac", "--task", "hoper", "--show-config"], capsys)
    assert code == EXIT_BAD_INPUT and "unknown task 'hoper'" in err and "hopper" in err


def test_eval_planning_settings_are_checked_the_same_way():
    from pwm.eval_planning import planner_settings

    assert planner_settings({"num_samples": 128}) == {"num_samples": 128}
    with pytest.raises(ValueError, match=r"unknown planner hyperparameters \['num_sample'\].*num_samples"):
        planner_settings({"num_sample": 128})


def test_overrides_go_anywhere_and_every_spelling_feeds_the_same_mechanism(capsys):
    argv = [
        "train",
        "num_envs=8",
        "--algo",
        "shac",
        "--hparams",
        '{"horizon": 8, "num_envs": 2}',
        "--task",
        "cartpole",
        "horizon=16",
        "--set",
        "preset=pwm",
        "--show-config",
        "lam=0.9",
    ]
    code, out, err = run_main(argv, capsys)
    assert code == 0, err
    shown = yaml.safe_load(out)
    assert shown["overrides"] == {"horizon": 16, "num_envs": 8, "preset": "pwm", "lam": 0.9}
    assert shown["hparams"]["num_critics"] == 3  # the pwm preset's


def test_malformed_overrides_are_usage_errors_naming_them(capsys):
    base = ["train", "--algo", "sac", "--task", "cartpole-balance", "--show-config"]
    for bad, named in [
        (["a=1,2"], "'a=1,2'"),
        (["--set", "a=[1"], "'a=[1'"),
        (["x", "--device", "cpu"], "'x'"),
        (["--device", "cpu", "x"], "'x'"),
    ]:
        code, _, err = run_main(base + bad, capsys)
        assert code == EXIT_USAGE and named in err, (bad, err)
    code, _, err = run_main(base + ["--bogus"], capsys)
    assert code == EXIT_USAGE and "unrecognized arguments: --bogus" in err
    code, _, err = run_main(["train", "--algo", "sac", "--task", "cartpole-balance"], capsys)
    assert code == EXIT_USAGE and "the following arguments are required: --seed" in err


def test_train_help_lists_the_defaults_files(capsys):
    code, out, _ = run_main(["train", "--help"], capsys)
    assert code == 0
    text = " ".join(out.split())
    for algo, path in YAML_FILES.items():
        assert f"{algo}: {path}" in text
    assert "--show-config" in text and "KEY=VALUE" in text


def test_bad_keys_fail_before_torch_and_show_config_imports_nothing_heavy(tmp_path):
    code = (
        "import contextlib, io, json, sys\n"
        "from pwm.cli import main\n"
        "codes = []\n"
        "for argv in ([['train', '--algo', 'shac', '--task', 'hopper', '--show-config', 'preset=pwm']],\n"
        f"             [['train', '--algo', 'sac', '--task', 'hopper', '--seed', '1', '--out', {str(tmp_path)!r},\n"
        "               '--steps', '1', '--eval-every', '1', 'horizn=3']]):\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "        try:\n"
        "            main(argv[0]); codes.append(0)\n"
        "        except SystemExit as e:\n"
        "            codes.append(e.code)\n"
        f"print(json.dumps({{'codes': codes, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))"
    )
    result = fresh_python(code)
    assert result == {"codes": [0, EXIT_BAD_INPUT], "heavy": []}


# ------------------------------------------------------------------------ SB3: complete key lists
def sb3_keywords(cls) -> dict[str, inspect.Parameter]:
    from baselines.sb3 import HARNESS_ARGUMENTS

    return {
        name: p
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name not in HARNESS_ARGUMENTS and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


# The harness's own keys, and the SB3 defaults it changes (documented in the files).
HARNESS_KEYS = {"sac": {"export_dataset"}, "ppo": set()}
CHANGED = {"sac": {"buffer_size", "learning_starts"}, "ppo": set()}


@pytest.mark.parametrize("algo", ["sac", "ppo"])
def test_sb3_files_list_every_keyword_with_sb3s_default_and_types(algo):
    import stable_baselines3

    cls = getattr(stable_baselines3, algo.upper())
    keywords = sb3_keywords(cls)
    file = source(algo)
    assert set(file) == set(keywords) | HARNESS_KEYS[algo]
    for name, parameter in keywords.items():
        if name not in CHANGED[algo]:
            assert file[name] == parameter.default, (algo, name)
    expected = hparams.types_for(algo, file)
    for name, parameter in keywords.items():
        annotated = hparams.types_of_annotation(parameter.annotation)
        accepted = expected[name]
        if accepted is None:  # null default: anything
            continue
        assert set(annotated) <= set(accepted) | ({tuple} if list in accepted else set()), (name, annotated, accepted)
    assert set(hparams.TYPES[algo]) <= set(file)


# ------------------------------------------------------------------------ the workflow
def test_the_workflow_check_imports_no_algorithm_and_no_simulator():
    result = fresh_python(
        "import json, sys, yaml\n"
        "from pwm import algorithms\n"
        "from pwm.workflow_config import check_experiments, validate_config\n"
        "for path in ['config.yaml'] + [f'workflow/configs/{n}.yaml' for n in\n"
        "             ('laptop-single', 'laptop-multitask', 'paper-single', 'paper-mt30', 'paper-mt80')]:\n"
        "    config = yaml.safe_load(open(path))\n"
        "    validate_config(config, [path])\n"
        "    check_experiments(config, algorithms.available(), local_exec=False)\n"
        f"print(json.dumps({{'heavy': [m for m in {HEAVY + ('baselines', 'rliable')!r} if m in sys.modules]}}))"
    )
    assert result["heavy"] == []


def test_the_default_dry_run_plans_its_jobs_without_heavy_imports(tmp_path):
    workdir = copy_workflow(tmp_path)
    (workdir / "config.yaml").write_text((PROJECT_ROOT / "config.yaml").read_text())
    result = run([sys.executable, "-X", "importtime", "-m", "snakemake", "-n", "--cores", "2"], cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^total\s+48$", result.stdout, re.M), result.stdout[-2000:]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    # pandas is left out: snakemake's SLURM executor plugin imports it when snakemake loads its plugins
    heavy = set(HEAVY) - {"pandas"} | {"baselines", "rliable"}
    assert not {m for m in imported if m.split(".")[0] in heavy}


def test_nested_hparams_survive_the_round_trip_through_snakemake(tmp_path):
    from pwm.cli import build_parser
    from pwm.cli_options import hyperparameters

    given = {
        "policy_kwargs": {"net_arch": [64, 64], "activation_fn_name": "tanh"},
        "train_freq": [1, "episode"],
        "ent_coef": "auto_0.1",
        "learning_rate": 1e-3,
        "replay_buffer_kwargs": {},
        "action_noise": None,
    }
    config = {
        "experiments": {
            "x": {
                "kind": "single-task",
                "tasks": ["cartpole-balance"],
                "seeds": [1],
                "algorithms": {
                    "sac": {
                        "steps": 100,
                        "eval_every": 100,
                        "hparams": given,
                        "per_task": {"cartpole-balance": {"hparams": {"batch_size": 32}}},
                    }
                },
            }
        }
    }
    workdir = copy_workflow(tmp_path)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    target = "results/x/runs/sac/cartpole-balance/seed1/eval.csv"
    result = run([sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1", target], cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if "pwm-bench train --algo sac" in line]
    argv = shlex.split(line.split("pwm-bench ", 1)[1].split(" >")[0])
    args, extra = build_parser().parse_known_args(argv)
    assert not extra
    assert hyperparameters(args) == {**given, "batch_size": 32}

"""The dflex family (issue 22): without dflex, the family is listed, named as unavailable and refused
with what to install, before any job; `simulator: dflex` renames an experiment's tasks. With dflex
(installed separately, never part of this project), the adapter's gradient against central finite
differences of dflex's own rollouts, its episode and state semantics, SHAC on dflex-hopper, and PWM's
single-task pipeline end to end on dflex-cartpole."""

import sys

import pandas as pd
import pytest
import torch
import yaml

from pwm.envs.dflex import availability
from pwm.envs.suites import DFLEX_TASKS, DFLEX_TWINS, TASK_FAMILIES, dflex_task, mujoco_twin
from pwm.workflow_config import ConfigError, check_experiments, use_simulator
from tests.helpers import copy_workflow, run

MISSING = availability.missing_reason()
needs_dflex = pytest.mark.skipif(MISSING is not None, reason=f"dflex is not installed here ({MISSING})")
without_dflex = pytest.mark.skipif(MISSING is None, reason="dflex is installed here")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ALGORITHMS = ["shac", "pwm", "sac", "ppo", "tdmpc2", "random_policy"]


def single_task_config(tasks, simulator=None, **extra):
    exp = {
        "kind": "single-task",
        "tasks": tasks,
        "seeds": [1],
        "algorithms": {
            "shac": {"steps": 256, "eval_every": 128, "per_task": {t: {"steps": 512} for t in tasks}},
        },
        **extra,
    }
    if simulator:
        exp["simulator"] = simulator
    return {"experiments": {"e": exp}}


# ---------------------------------------------------------------------------------- without dflex
def test_the_table_lists_every_dflex_task_with_a_mujoco_twin():
    assert DFLEX_TASKS == (
        "dflex-hopper",
        "dflex-ant",
        "dflex-humanoid",
        "dflex-cartpole",
        "dflex-anymal",
        "dflex-snu-humanoid",
    )
    assert all(TASK_FAMILIES[t] == "dflex" for t in DFLEX_TASKS)
    from pwm.envs.dflex.tasks import DFLEX_ENVS

    assert set(DFLEX_ENVS) == set(DFLEX_TASKS)  # the adapter's table and the stdlib task table name the same tasks
    assert all(TASK_FAMILIES[twin] == "differentiable" for twin in DFLEX_TWINS.values())
    assert dflex_task("quadruped") == "dflex-anymal" and dflex_task("muscle-legs") == "dflex-snu-humanoid"
    assert dflex_task("dflex-hopper") == "dflex-hopper" and mujoco_twin("dflex-ant") == "ant"
    with pytest.raises(ValueError, match="'walker-walk' has no dflex counterpart"):
        dflex_task("walker-walk")
    with pytest.raises(ValueError, match="'cheetah' has no dflex counterpart"):  # the fork's CheetahEnv is broken
        dflex_task("cheetah")


def test_dflex_tasks_share_their_twins_defaults_and_score_divisor():
    from pwm import hparams
    from pwm.envs.scoring import MAX_RETURNS, max_return

    for task, twin in DFLEX_TWINS.items():
        for preset in ("diffrl", "pwm"):
            assert hparams.defaults("shac", task, preset) == hparams.defaults("shac", twin, preset)
        assert max_return(task) == MAX_RETURNS[twin]
    assert set(DFLEX_TASKS) <= set(hparams.tasks_with_defaults("shac"))


def test_missing_reason_names_the_package(monkeypatch):
    monkeypatch.setattr(availability.importlib.util, "find_spec", lambda name: None)
    assert availability.missing_reason() == "the Python package 'dflex' is not installed"
    message = availability.missing_message("dflex-ant")
    assert "'dflex-ant' needs dflex" in message and "https://github.com/imgeorgiev/DiffRL" in message
    assert "non-commercial" in message


@without_dflex
def test_without_dflex_the_tasks_are_unregistered_and_refused_with_the_install_hint():
    from pwm.envs import make, task_names

    assert not set(DFLEX_TASKS) & set(task_names())
    with pytest.raises(ValueError, match=r"'dflex-hopper' needs dflex.*imgeorgiev/DiffRL"):
        make("dflex-hopper", 0)
    from pwm.envs.batched import make_batched_env

    with pytest.raises(ImportError, match="'dflex-hopper' needs dflex"):
        make_batched_env("dflex-hopper", 2)


@without_dflex
def test_without_dflex_pwm_bench_tasks_says_the_family_is_unavailable():
    from pwm.cli import unavailable_families

    line = unavailable_families()
    assert line.startswith("family dflex: unavailable (the Python package 'dflex' is not installed)")
    assert all(t in line for t in DFLEX_TASKS)


def test_a_config_naming_a_dflex_task_fails_before_any_job_when_dflex_is_missing(monkeypatch):
    import pwm.workflow_config as wc

    for module in (wc, availability):
        monkeypatch.setattr(module, "missing_reason", lambda: "the Python package 'dflex' is not installed")
    with pytest.raises(ConfigError, match=r"experiments\.e\.tasks\[0\]: task 'dflex-hopper' needs dflex"):
        check_experiments(single_task_config(["dflex-hopper"]), ALGORITHMS, local_exec=True)
    with pytest.raises(
        ConfigError, match=r"tasks\[0\]: task 'dflex-hopper' needs dflex, which is unavailable here: the"
    ):
        check_experiments(single_task_config(["hopper", "quadruped"], "dflex"), ALGORITHMS, local_exec=True)


def test_simulator_dflex_renames_the_tasks_and_every_mapping_keyed_by_task():
    spec = single_task_config(
        ["hopper", "quadruped"],
        "dflex",
        world_model={"collect_seed": 1, "per_task": {"quadruped": {"steps": 9}}},
        landscape={"tasks": ["hopper"]},
    )["experiments"]["e"]
    use_simulator("e", spec)
    assert spec["tasks"] == ["dflex-hopper", "dflex-anymal"]
    assert spec["algorithms"]["shac"]["per_task"] == {"dflex-hopper": {"steps": 512}, "dflex-anymal": {"steps": 512}}
    assert spec["world_model"]["per_task"] == {"dflex-anymal": {"steps": 9}}
    assert spec["landscape"]["tasks"] == ["dflex-hopper"]
    before = yaml.safe_dump(spec)
    use_simulator("e", spec)  # the DAG's checks may run again on the same dict
    assert yaml.safe_dump(spec) == before
    bad = single_task_config(["hopper", "walker-walk"], "dflex")["experiments"]["e"]
    with pytest.raises(ConfigError, match=r"experiments\.e\.tasks: simulator dflex: task 'walker-walk' has no dflex"):
        use_simulator("e", bad)


def test_the_mujoco_simulator_leaves_the_tasks_alone():
    spec = single_task_config(["hopper"], "mujoco")["experiments"]["e"]
    use_simulator("e", spec)
    assert spec["tasks"] == ["hopper"]


def test_a_non_differentiable_task_gets_no_batched_env():
    from pwm.envs.batched import make_batched_env

    with pytest.raises(ValueError, match="'walker-walk' is not a differentiable task"):
        make_batched_env("walker-walk", 2)


# ---------------------------------------------------------------------------------- with dflex
def rollout_return(env, start, actions):
    env.set_state(start)
    total = 0.0
    for a in actions:
        _, reward, _, _ = env.step(a)
        total = total + reward.sum()
    return total


@needs_dflex
@pytest.mark.parametrize("task, horizon", [("dflex-hopper", 16), ("dflex-ant", 8)])
def test_the_adapters_gradient_matches_central_differences(task, horizon):
    from pwm.envs.dflex.batched import DflexEnv

    env = DflexEnv(task, 2, seed=3)
    env.reset()
    start = env.get_state()
    generator = torch.Generator().manual_seed(0)
    base = (torch.rand(horizon, 2, env.act_dim, generator=generator) * 2 - 1) * 0.5
    actions = base.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(rollout_return(env, start, actions), actions)
    directions = [grad / grad.norm()] + [torch.randn(grad.shape, generator=generator) for _ in range(3)]
    eps = 1e-2
    with torch.no_grad():
        for v in directions:
            v = v / v.norm()
            fd = (rollout_return(env, start, base + eps * v) - rollout_return(env, start, base - eps * v)) / (2 * eps)
            # float32 physics: agreement to 2 % of the gradient's norm (measured: 0.1-0.5 %)
            assert float((grad * v).sum()) == pytest.approx(float(fd), abs=0.02 * float(grad.norm()))


@needs_dflex
def test_state_round_trip_seeds_and_the_global_rng():
    from pwm.envs.dflex.batched import DflexEnv

    a, b, c = DflexEnv("dflex-hopper", 3, seed=5), DflexEnv("dflex-hopper", 3, seed=5), DflexEnv("dflex-hopper", 3)
    torch.manual_seed(123)
    obs_a = a.reset()
    after_a = torch.rand(4)
    torch.manual_seed(123)
    after_none = torch.rand(4)
    torch.testing.assert_close(after_a, after_none)  # the env draws from its own RNG, not torch's
    torch.testing.assert_close(obs_a, b.reset(), rtol=0, atol=0)
    assert not torch.equal(obs_a, c.reset())
    state = a.get_state()
    actions = [torch.rand(3, 3) * 2 - 1 for _ in range(80)]  # long enough for falls and restarts
    with torch.no_grad():
        first = [a.step(x) for x in actions]
        a.set_state(state)
        second = [a.step(x) for x in actions]
    for (o1, r1, d1, i1), (o2, r2, d2, i2) in zip(first, second):
        torch.testing.assert_close(o1, o2, rtol=0, atol=0)
        torch.testing.assert_close(r1, r2, rtol=0, atol=0)
        assert torch.equal(d1, d2) and torch.equal(i1["episode_length"], i2["episode_length"])
    dones = torch.stack([d for _, _, d, _ in first])
    terminated = torch.stack([i["terminated"] for _, _, _, i in first])
    assert terminated.any(), "random actions should topple the hopper within 80 steps"
    assert torch.equal(dones, terminated)  # no time limit within 80 steps
    # a restarted env begins a new episode: its length counts from 1 again
    lengths = torch.stack([i["episode_length"] for _, _, _, i in first])
    t, e = map(int, terminated.nonzero()[0])
    assert int(lengths[t + 1, e]) == 1


@needs_dflex
def test_gradient_free_and_differentiable_steps_agree():
    from pwm.envs.dflex.batched import DflexEnv

    env = DflexEnv("dflex-hopper", 2, seed=1)
    env.reset()
    start = env.get_state()
    actions = [torch.full((2, 3), 0.3), torch.full((2, 3), -0.2)]
    with torch.no_grad():
        plain = [env.step(a)[0] for a in actions]
    env.set_state(start)
    tracked = [env.step(a.clone().requires_grad_(True))[0] for a in actions]
    assert tracked[-1].requires_grad
    for p, t in zip(plain, tracked):
        torch.testing.assert_close(p, t.detach(), rtol=1e-5, atol=1e-5)


@needs_dflex
def test_evaluation_env_is_registered_with_the_dflex_semantics():
    from pwm.envs import get_spec, make

    spec = get_spec("dflex-hopper")
    assert (spec.family, spec.domain, spec.episode_length, spec.early_termination) == ("dflex", "hopper", 1000, True)
    env = make("dflex-hopper", 0)
    obs, _ = env.reset(seed=4)
    assert obs.shape == (11,) and obs.dtype.name == "float32"
    obs2, reward, terminated, truncated, _ = env.step(env.action_space.sample())
    assert obs2.shape == (11,) and isinstance(reward, float) and not truncated
    again, _ = env.reset(seed=4)
    assert (again == obs).all()


@needs_dflex
def test_shac_trains_on_dflex_hopper_and_resumes_exactly():
    from baselines.shac import SHAC, config_for

    cfg = config_for("dflex-hopper", {"num_envs": 4, "horizon": 8, "critic_iterations": 2, "dataset_envs": 2})
    a = SHAC("dflex-hopper", cfg, seed=0, threads=1)
    stats = a.iterate(10)
    assert torch.isfinite(torch.tensor([stats["actor_loss"], stats["critic_loss"], stats["grad_norm"]])).all()
    assert stats["grad_norm"] > 0
    state = a.state_dict()
    a.iterate(10)
    b = SHAC("dflex-hopper", cfg, seed=99, threads=1)
    b.load_state_dict(state)
    b.iterate(10)
    for pa, pb in zip(a.actor.parameters(), b.actor.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    torch.testing.assert_close(a.env.obs, b.env.obs, rtol=0, atol=0)


@needs_dflex
def test_single_task_pwm_pipeline_on_dflex_with_one_setting(tmp_path):
    """`simulator: dflex` on a config written for the MuJoCo cartpole: SHAC collects on dflex-cartpole,
    the world model pre-trains on its rollouts, PWM fine-tunes it online, each evaluated."""
    from tests.test_single_task_workflow import SINGLE

    config = yaml.safe_load(yaml.safe_dump(SINGLE))
    config["experiments"]["st"]["simulator"] = "dflex"
    workdir = copy_workflow(tmp_path)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=workdir, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    exp = workdir / "results" / "st"
    assert (exp / "world_models" / "dflex-cartpole" / "world_model.pt").exists()
    scores = pd.read_csv(exp / "scores.csv")
    assert set(scores.task) == {"dflex-cartpole"} and set(scores.algo) == {"shac", "pwm"}
    assert sorted(scores[scores.algo == "pwm"].step.unique()) == [0, 16, 32]
    assert scores["episode_reward"].notna().all()


def test_the_dflex_laptop_config_plans_with_dflex_and_stops_with_the_hint_without(tmp_path):
    workdir = copy_workflow(tmp_path)
    result = run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", "workflow/configs/laptop-single-dflex.yaml"],
        cwd=workdir,
    )
    out = result.stdout + result.stderr
    if MISSING is not None:
        assert result.returncode != 0
        assert "experiments.single-laptop-dflex.tasks[0]: task 'dflex-hopper' needs dflex" in out
        assert "train_shac" not in out  # no job was planned
    else:
        assert result.returncode == 0, out[-3000:]
        assert "train_shac                         3" in out and "train_pwm                          3" in out

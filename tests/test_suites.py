"""MT30/MT80: order and dims against TD-MPC2's table, suite expansion, the multitask wrapper, CLI."""

import numpy as np
import pytest

import pwm  # noqa: F401
from pwm.cli import main as cli_main
from pwm.envs import get_spec, make
from pwm.envs.multitask import MultitaskEnv
from pwm.envs.suites import MT30, MT80, expand_tasks, suite_tasks

# TD-MPC2's task table (docs/reference-notes.md §7.6): id -> (task, obs dim, action dim). Written out, not derived.
MT30_TABLE = [
    ("walker-stand", 24, 6),
    ("walker-walk", 24, 6),
    ("walker-run", 24, 6),
    ("cheetah-run", 17, 6),
    ("reacher-easy", 6, 2),
    ("reacher-hard", 6, 2),
    ("acrobot-swingup", 6, 1),
    ("pendulum-swingup", 3, 1),
    ("cartpole-balance", 5, 1),
    ("cartpole-balance-sparse", 5, 1),
    ("cartpole-swingup", 5, 1),
    ("cartpole-swingup-sparse", 5, 1),
    ("cup-catch", 8, 2),
    ("finger-spin", 9, 2),
    ("finger-turn-easy", 12, 2),
    ("finger-turn-hard", 12, 2),
    ("fish-swim", 24, 5),
    ("hopper-stand", 15, 4),
    ("hopper-hop", 15, 4),
    ("walker-walk-backwards", 24, 6),
    ("walker-run-backwards", 24, 6),
    ("cheetah-run-backwards", 17, 6),
    ("cheetah-run-front", 17, 6),
    ("cheetah-run-back", 17, 6),
    ("cheetah-jump", 17, 6),
    ("hopper-hop-backwards", 15, 4),
    ("reacher-three-easy", 8, 3),
    ("reacher-three-hard", 8, 3),
    ("cup-spin", 8, 2),
    ("pendulum-spin", 3, 1),
]
MW_ORDER = """assembly basketball button-press-topdown button-press-topdown-wall button-press
button-press-wall coffee-button coffee-pull coffee-push dial-turn disassemble door-open door-close
drawer-close drawer-open faucet-open faucet-close hammer handle-press-side handle-press
handle-pull-side handle-pull lever-pull peg-insert-side peg-unplug-side pick-out-of-hole pick-place
pick-place-wall plate-slide plate-slide-side plate-slide-back plate-slide-back-side push-back push
push-wall reach reach-wall shelf-place soccer stick-push stick-pull sweep-into sweep window-open
window-close bin-picking box-close door-lock door-unlock hand-insert""".split()
MT80_TABLE = MT30_TABLE + [(f"mw-{name}", 39, 4) for name in MW_ORDER]


def test_suite_order_is_tdmpc2_task_ids():
    assert list(MT30) == [t for t, _, _ in MT30_TABLE]
    assert list(MT80) == [t for t, _, _ in MT80_TABLE]
    assert len(MT30) == 30 and len(MT80) == 80 and len(set(MT80)) == 80
    assert suite_tasks("mt80")[30] == "mw-assembly" and suite_tasks("mt30")[29] == "pendulum-spin"


@pytest.mark.parametrize(
    "task_id,task,obs_dim,act_dim", [(i, *row) for i, row in enumerate(MT80_TABLE)], ids=[row[0] for row in MT80_TABLE]
)
def test_every_task_builds_resets_and_steps_with_table_dims(task_id, task, obs_dim, act_dim):
    spec = get_spec(task)
    assert spec.episode_length == (100 if task.startswith("mw-") else 500) and spec.action_repeat == 2
    env = make(task, task_id)
    obs, info = env.reset(seed=task_id)
    assert env.observation_space.shape == obs.shape == (obs_dim,) and obs.dtype == np.float32
    assert env.action_space.shape == (act_dim,)
    assert np.all(env.action_space.low == -1) and np.all(env.action_space.high == 1)
    assert np.all(np.isfinite(obs)) and info["success"] == 0.0
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert obs.shape == (obs_dim,) and np.all(np.isfinite(obs)) and np.isfinite(reward)
        assert not terminated and not truncated and info["success"] in (0.0, 1.0)
    env.close()


def test_suite_maxima_from_the_table():
    assert max(o for _, o, _ in MT30_TABLE) == 24 and max(a for _, _, a in MT30_TABLE) == 6
    assert max(o for _, o, _ in MT80_TABLE) == 39 and max(a for _, _, a in MT80_TABLE) == 6


def test_expand_tasks():
    assert expand_tasks(["mt30"]) == list(MT30)
    assert expand_tasks("mt80") == list(MT80)
    mixed = expand_tasks(["cup-spin", "walker-walk", "mt30", "mw-reach", "walker-walk"])
    assert mixed[:2] == ["cup-spin", "walker-walk"] and len(mixed) == 31 and mixed[-1] == "mw-reach"
    assert mixed[2:30] == [t for t in MT30 if t not in ("cup-spin", "walker-walk")]
    assert expand_tasks(["mt30", "mt80"]) == list(MT80)
    assert expand_tasks(["humanoid-run"]) == ["humanoid-run"]  # any registered task, not only suites
    assert expand_tasks([]) == []


@pytest.mark.parametrize(
    "bad,hint", [("mt3", "mt30"), ("walker-walk-backward", "walker-walk-backwards"), ("mw-asembly", "mw-assembly")]
)
def test_expand_tasks_unknown_names_give_close_matches(bad, hint):
    with pytest.raises(ValueError, match=f"unknown task or suite '{bad}'; close matches: .*{hint}"):
        expand_tasks(["walker-walk", bad])


def test_multitask_pads_obs_and_slices_actions():
    tasks = ["pendulum-spin", "walker-walk", "mw-reach"]
    multi = MultitaskEnv.from_tasks(tasks, seed=0)
    assert multi.observation_space.shape == (39,) and multi.action_space.shape == (6,)
    assert multi.obs_dims == [3, 24, 39] and multi.action_dims == [1, 6, 4]
    assert multi.episode_lengths == [500, 500, 100]
    rng = np.random.default_rng(0)
    for task_idx, task in enumerate(tasks):
        single = make(task, 0)
        obs, info = multi.reset(task_idx, seed=7)
        ref, _ = single.reset(seed=7)
        assert multi.task == task and multi.task_idx == task_idx and info["task_idx"] == task_idx
        assert obs.shape == (39,) and obs.dtype == np.float32
        np.testing.assert_array_equal(obs[: ref.size], ref)
        assert np.all(obs[ref.size :] == 0)
        for _ in range(3):
            action = rng.uniform(-1, 1, 6).astype(np.float32)
            obs, reward, _, _, _ = multi.step(action)
            ref, ref_reward, _, _, _ = single.step(action[: single.action_space.shape[0]])
            np.testing.assert_array_equal(obs[: ref.size], ref)
            assert np.all(obs[ref.size :] == 0) and reward == ref_reward
    obs, _ = multi.reset(-1)  # TD-MPC2 style negative index: the last task
    assert multi.task == "mw-reach"
    with pytest.raises(IndexError):
        multi.reset(3)


def test_mt30_multitask_dims():
    multi = MultitaskEnv.from_tasks(["mt30"], seed=0)
    assert multi.tasks == list(MT30)
    assert multi.observation_space.shape == (24,) and multi.action_space.shape == (6,)
    assert multi.obs_dims == [o for _, o, _ in MT30_TABLE] and multi.action_dims == [a for _, _, a in MT30_TABLE]
    obs, _ = multi.reset(29)
    assert obs.shape == (24,) and np.all(obs[3:] == 0)


def test_cli_tasks_suite_lists_tasks_in_suite_order(capsys):
    cli_main(["tasks", "--task-set", "mt30"])
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == 30
    for task_id, (row, (task, obs_dim, act_dim)) in enumerate(zip(rows, MT30_TABLE)):
        assert row[:2] == [str(task_id), task]
        assert [int(v) for v in row[2:6]] == [obs_dim, act_dim, 500, 2]
        assert row[6] == "no"  # no dm_control task of MT30 terminates early (TD-MPC2's episodic mode off)
        assert row[7] == get_spec(task).domain
    with pytest.raises(SystemExit):
        cli_main(["tasks", "--suite", "mt40"])


def test_the_task_family_table_is_the_registrys():
    """pwm.envs.suites.TASK_FAMILIES lets the workflow check task names and families without importing
    a simulator; it must hold exactly what the registry registers, and the dflex family, which
    registers only when dflex is installed (tests/test_dflex.py)."""
    from pwm.envs import task_names
    from pwm.envs.dflex.availability import missing_reason
    from pwm.envs.suites import DFLEX_TASKS, TASK_FAMILIES, task_family

    unregistered = {t: "dflex" for t in DFLEX_TASKS} if missing_reason() else {}
    assert TASK_FAMILIES == {name: get_spec(name).family for name in task_names()} | unregistered
    assert task_family("hopper") == "differentiable" and task_family("no-such-task") is None

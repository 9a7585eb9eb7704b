"""Importing published results into the tidy scores table; malformed files name file, line, column."""

import numpy as np
import pandas as pd
import pytest

from pwm.analysis.importers import MalformedInput, import_published
from pwm.run import EVAL_COLUMNS


def write(path, text):
    path.write_text(text)
    return path


def test_tdmpc2_results_directory(tmp_path):
    d = tmp_path / "tdmpc2"
    d.mkdir()
    write(d / "walker-walk.csv", "step,reward,seed\n0,10.5,1\n100,900,1\n0,12,2\n100,950,2\n")
    write(d / "mw-assembly.csv", "step,success,seed\n0,0.0,1\n100,0.9,1\n")
    scores = import_published("tdmpc2-results", "tdmpc2", [d])
    assert list(scores.columns) == EVAL_COLUMNS and len(scores) == 6
    ww = scores[scores.task == "walker-walk"]
    assert ww.episode_reward.tolist() == [10.5, 900.0, 12.0, 950.0] and ww.episode_success.isna().all()
    mw = scores[scores.task == "mw-assembly"]
    assert mw.episode_success.tolist() == [0.0, 0.9] and mw.episode_reward.isna().all()
    only = import_published("tdmpc2-results", "tdmpc2", [d], tasks=["walker-walk"])
    assert set(only.task) == {"walker-walk"}
    with pytest.raises(MalformedInput, match=r"no published file for tasks \['cup-catch'\]"):
        import_published("tdmpc2-results", "tdmpc2", [d], tasks=["cup-catch"])


def test_pwm_multitask_formats(tmp_path):
    pwm = write(
        tmp_path / "mt.csv",
        ",iteration,episode_reward,episode_success,task\n100,9999,953.4,0.0,walker-walk\n100,9999,0,0.7,mw-assembly\n",
    )
    td = write(
        tmp_path / "td.csv", "task,seed,episode_reward,episode_success\nwalker-walk,0,900,0\nwalker-walk,1,910,0\n"
    )
    a = import_published("pwm-multitask", "pwm", [pwm])
    assert a.seed.tolist() == [0, 0] and set(a.step) == {9999}
    b = import_published("pwm-multitask", "tdmpc2", [td])
    assert b.seed.tolist() == [0, 1] and b.episode_reward.tolist() == [900.0, 910.0]


WANDB = (
    '"Step","R_sweep_1 - rewards","R_sweep_1 - rewards__MIN","R_sweep_1 - rewards__MAX",'
    '"R_sweep_0 - rewards","R_sweep_0 - rewards__MIN","R_sweep_0 - rewards__MAX"\n'
    '"10","1.5","1","2","",""," "\n"20","","","","2.5","2","3"\n"30","3.5","3","4","4.5","4","5"\n'
)


def test_pwm_single_task_wandb_export(tmp_path):
    path = write(tmp_path / "pwm_ant.csv", WANDB)
    scores = import_published("pwm-single-task", "pwm", [path])
    assert set(scores.task) == {"ant"}
    assert scores[scores.seed == 1][["step", "episode_reward"]].values.tolist() == [[10, 1.5], [30, 3.5]]
    assert scores[scores.seed == 0][["step", "episode_reward"]].values.tolist() == [[20, 2.5], [30, 4.5]]
    timed = write(tmp_path / "shac_hopper_time.csv", WANDB.replace('"Step"', '"Relative Time (Process)"'))
    with pytest.raises(
        MalformedInput, match=r"shac_hopper_time.csv, line 1, column 1 'Relative Time \(Process\)'.*--fps"
    ):
        import_published("pwm-single-task", "shac", [timed])
    scaled = import_published("pwm-single-task", "shac", [timed], fps=100)
    assert set(scaled.task) == {"hopper"} and scaled.env_steps.max() == 3000 and scaled.wall_time_s.max() == 30


@pytest.mark.parametrize(
    "fmt,text,message",
    [
        (
            "tdmpc2-results",
            "step,reward,seed\n0,1,1\n100,abc,1\n",
            r"bad.csv, line 3, column 2 'reward': 'abc' is not a number",
        ),
        ("tdmpc2-results", "step,reward\n0,1\n", r"bad.csv, line 1: missing columns \['seed'\]"),
        (
            "tdmpc2-results",
            "step,reward,seed\n0,1,1\n0,2,1\n",
            r"bad.csv: lines \[2, 3\] repeat the same \(seed=1, step=0\)",
        ),
        ("tdmpc2-results", "step,reward,seed\n0,1,1\n5,,1\n", r"bad.csv, line 3, column 2 'reward': an empty cell"),
        ("tdmpc2-results", "step,reward,seed\n0,1,1,7\n", r"bad.csv, line 2: 4 fields, the header has 3"),
        ("tdmpc2-results", "", r"bad.csv: empty file"),
        ("pwm-multitask", "task,seed,episode_reward,episode_success\nw,0,1,x\n", r"line 2, column 4 'episode_success'"),
        ("pwm-single-task", '"Step","a - loss"\n1,2\n', r"bad.csv, line 1: no '<run> - rewards\|"),
        ("pwm-single-task", '"Step","r_1 - rewards"\n1,\n', r"column 2 'r_1 - rewards': the run logged no values"),
    ],
)
def test_malformed_inputs_name_file_line_column(tmp_path, fmt, text, message):
    with pytest.raises(MalformedInput, match=message):
        import_published(fmt, "x", [write(tmp_path / "bad.csv", text)])


def test_cli_import_and_error(tmp_path, capsys):
    from pwm.cli import main

    write(tmp_path / "walker-walk.csv", "step,reward,seed\n0,10,1\n")
    main(
        [
            "import",
            "--format",
            "tdmpc2-results",
            "--algo",
            "tdmpc2",
            "--out",
            str(tmp_path / "s.csv"),
            str(tmp_path / "walker-walk.csv"),
        ]
    )
    assert pd.read_csv(tmp_path / "s.csv").episode_reward.tolist() == [10.0]
    write(tmp_path / "bad.csv", "step,reward,seed\nzero,10,1\n")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "import",
                "--format",
                "tdmpc2-results",
                "--algo",
                "t",
                "--out",
                str(tmp_path / "b.csv"),
                str(tmp_path / "bad.csv"),
            ]
        )
    assert exit_info.value.code == 3  # bad input
    assert "bad.csv, line 2, column 1 'step': 'zero' is not a number" in capsys.readouterr().err


def test_reference_files(reference_dir):
    d = reference_dir / "pwm-paper"
    assert len(import_published("pwm-multitask", "pwm", [d / "mt80_results.csv"])) == 80
    td = import_published("pwm-multitask", "tdmpc2", [d / "tdmpc2_mt80_scores.csv"])
    assert len(td) == 800 and td.groupby("task").seed.nunique().eq(10).all()
    st = import_published("pwm-single-task", "pwm", [d / "pwm_hopper.csv"])
    assert st.seed.nunique() == 5 and np.isfinite(st.episode_reward).all()
    curves = import_published(
        "tdmpc2-results", "tdmpc2", [reference_dir / "tdmpc2-results" / "tdmpc2"], tasks=["walker-walk", "mw-assembly"]
    )
    assert set(curves.task) == {"walker-walk", "mw-assembly"}

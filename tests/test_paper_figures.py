"""The PWM paper's figures (pwm.analysis.paper_figures): each figure's plotted values, as written to
the CSV beside it, against an independent computation from the released file (plain pandas/numpy/
scipy/rliable here, following the notebooks' protocol), and the behaviour with absent files."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rliable import library as rly
from rliable import metrics
from scipy.stats import trim_mean

from pwm.analysis import paper_data, paper_figures

REPS = 50
HOPPER_PPO = 4742.296956380208  # results.ipynb cell 4, and what ppo_hopper_time.csv gives
ANT_PPO = 6604.663357204862


def raw_runs(path, metric):
    """The notebook's first steps: drop the __MIN/__MAX columns, keep '<run> - metric' columns."""
    data = pd.read_csv(path)
    return data, [c for c in data.columns if c.endswith(f" - {metric}")]


def raw_step_table(path, metric="rewards", x="Step", thin=10):
    data, cols = raw_runs(path, metric)
    data = data[[x] + cols].dropna(subset=cols, how="all").interpolate().dropna()
    return data.set_index(x)[cols].iloc[::thin]


def raw_time_table(path, metric, rate):
    data, cols = raw_runs(path, metric)
    data = data[["Relative Time (Process)"] + cols].dropna(subset=cols, how="all")
    data = data.groupby("Relative Time (Process)", as_index=False).first().interpolate().dropna()
    data.index = pd.to_timedelta(data["Relative Time (Process)"], unit="s")
    data = data[cols].resample(rate).first().interpolate()
    data.index = (data.index - data.index[0]).total_seconds()
    return data


def at_peak(table):
    iqm = trim_mean(table.to_numpy(), 0.25, axis=1)
    return table.iloc[int(np.argmax(iqm))].to_numpy()


PROJECT_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = PROJECT_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="module")
def paper():
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE_DIR}")
    return REFERENCE_DIR / "pwm-paper"


@pytest.fixture(scope="module")
def built(paper, tmp_path_factory):
    """Every figure built once (few reps), as the workflow does."""
    out = tmp_path_factory.mktemp("paper")
    for name in paper_data.PAPER_FIGURES:
        paper_figures.build(
            name, paper, out, REPS, stats_dir=out / "stats", tables_path=out / "tables.md", log=lambda m: None
        )
    return out


def series(built, name):
    return pd.read_csv(built / f"{name}.csv")


def test_every_figure_writes_pdf_png_csv_and_table(built):
    for name in paper_data.PAPER_FIGURES:
        assert (built / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        assert (built / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert list(pd.read_csv(built / f"{name}.csv").columns) == paper_data.SERIES_COLUMNS
        assert "|---|" in (built / f"{name}.md").read_text()
    assert (built / "improvement.png").is_file() and "| single-task | SAC |" in (built / "tables.md").read_text()


def test_ppo_normaliser_from_the_released_file_equals_the_notebooks(paper):
    scales = paper_data.ppo_scales(paper).set_index("task")
    assert scales.loc["hopper", "scale"] == pytest.approx(HOPPER_PPO, rel=1e-12)
    assert scales.loc["hopper", "source"] == "computed from ppo_hopper_time.csv"
    assert "cell 4" in scales.loc["ant", "source"] and scales.loc["ant", "scale"] == ANT_PPO


def test_single_task_scores_and_iqm_equal_an_independent_computation(built, paper):
    runs = pd.read_csv(built / "stats" / "run_scores.csv")
    # SAC on hopper (time-indexed, 10 s bins): the seeds' values at the IQM peak, / PPO's peak.
    sac = at_peak(raw_time_table(paper / "sac_hopper_time.csv", "rewards/time", "10s")) / HOPPER_PPO
    ours = runs[(runs.algo == "sac") & (runs.task == "hopper")].sort_values("seed").score.to_numpy()
    np.testing.assert_allclose(np.sort(ours), np.sort(sac), rtol=1e-9)
    assert trim_mean(sac, 0.25) == pytest.approx(0.871, abs=5e-4)  # docs/reference-notes.md §5
    # PWM's aggregate IQM and interval: rliable on the paper's (envs, seeds, 1) array built here.
    scales = {
        "hopper": HOPPER_PPO,
        "ant": ANT_PPO,
        "anymal": 12028.991672092014,
        "humanoid": 7292.7856852213545,
        "humanoidsnu": 4246.042073567708,
    }
    by_seed = lambda t: t[sorted(t.columns, key=lambda c: int(c.split(" - ")[0].rsplit("_", 1)[1]))]  # noqa: E731
    pwm = np.stack(
        [at_peak(by_seed(raw_step_table(paper / f"pwm_{e}.csv"))) / scales[e] for e in sorted(paper_data.PAPER_ENVS)]
    )  # envs in name order, as the pipeline
    np.random.seed(0)
    point, ci = rly.get_interval_estimates(
        {"pwm": pwm[:, :, None]}, lambda s: np.array([metrics.aggregate_iqm(s)]), reps=REPS
    )
    s = series(built, "single_task")
    row = s[(s.panel == "aggregate") & (s.series == "pwm") & (s.kind == "iqm")].iloc[0]
    assert row.value == pytest.approx(point["pwm"][0], rel=1e-9) == pytest.approx(1.247, abs=5e-4)
    assert (row.ci_low, row.ci_high) == pytest.approx((ci["pwm"][0, 0], ci["pwm"][1, 0]), rel=1e-9)
    mean = s[(s.panel == "aggregate") & (s.series == "pwm") & (s.kind == "mean")].iloc[0].value
    assert mean == pytest.approx(pwm.mean(), rel=1e-9)
    assert set(s[s.panel == "aggregate"].series) == {"pwm", "tdmpc2", "shac", "sac", "ppo"}


def test_single_task_equals_the_aggregate_pipeline_for_pwm_and_tdmpc2(built, paper, tmp_path):
    """The previous paper pipeline (import -> aggregate iqm-peak, thin 10, scales) gives the same
    PWM and TD-MPC2 numbers, so the five-algorithm figure did not move the published two."""
    from pwm.analysis.aggregate import aggregate
    from pwm.analysis.importers import write_import

    files = []
    for algo in ("pwm", "tdmpc2"):
        write_import(
            "pwm-single-task",
            algo,
            [paper / f"{algo}_{e}.csv" for e in paper_data.PAPER_ENVS],
            tmp_path / f"{algo}.csv",
        )
        files.append(tmp_path / f"{algo}.csv")
    result = aggregate(
        files,
        tmp_path / "agg",
        group="single-task",
        reps=REPS,
        layout="paper",
        score_rule="iqm-peak",
        thin=10,
        normalization="scales",
        scales=paper_data.PPO_PEAK_IQM,
        curves=False,
        improvement=False,
    )
    ours = pd.read_csv(built / "stats" / "aggregates.csv").set_index(["algo", "metric"])
    for algo in ("pwm", "tdmpc2"):
        theirs = result.aggregates.set_index(["algo", "metric"]).loc[(algo, "iqm")]
        assert ours.loc[(algo, "iqm"), ["value", "ci_low", "ci_high"]].tolist() == pytest.approx(
            theirs[["value", "ci_low", "ci_high"]].tolist(), rel=1e-9
        )


def test_locomotion_sweep_points(built, paper):
    s = series(built, "locomotion_sweep")
    table = raw_time_table(paper / "shac_hopper_time.csv", "rewards", "10s") / HOPPER_PPO
    curve = s[(s.panel == "hopper steps") & (s.series == "shac")].reset_index(drop=True)
    j = 7
    assert curve.x[j] == int(table.index[j] * 33100)  # seconds x the notebook's SHAC hopper FPS
    assert curve.value[j] == pytest.approx(trim_mean(table.iloc[j].to_numpy(), 0.25), rel=1e-9)
    minutes = s[(s.panel == "hopper minutes") & (s.series == "shac")].reset_index(drop=True)
    assert minutes.x[j] == pytest.approx(table.index[j] / 60, rel=1e-6)
    assert not (s.panel.str.endswith("minutes") & s.series.isin(["pwm", "tdmpc2"])).any()
    pwm = raw_step_table(paper / "pwm_anymal.csv") / 12028.991672092014
    part = s[(s.panel == "anymal steps") & (s.series == "pwm")].reset_index(drop=True)
    assert part.value.max() == pytest.approx(trim_mean(pwm.to_numpy(), 0.25, axis=1).max(), rel=1e-9)


def test_multitask_experts_values(built, paper):
    s = series(built, "multitask_experts")
    records = json.loads((paper / "dmc_proprio-dreamerv3.json").read_text())
    best = {}
    for r in records:
        best.setdefault(r["task"], []).append(max(r["ys"]) / 1000)
    assert len(best) == 18
    dreamer = np.array([best[t] for t in sorted(best)])
    row = s[(s.series == "DreamerV3") & (s.kind == "iqm")].iloc[0]
    assert row.value == pytest.approx(metrics.aggregate_iqm(dreamer), rel=1e-9)
    tasks = [t.removeprefix("dmc_").replace("ball_in_cup", "cup").replace("_", "-") for t in best]
    sac = [
        pd.read_csv(paper.parent / "tdmpc2-results" / "sac" / f"{t}.csv").groupby("seed").reward.max() / 1000
        for t in tasks
    ]
    mean = s[(s.series == "SAC") & (s.kind == "mean")].iloc[0].value
    assert mean == pytest.approx(np.mean(np.concatenate([v.to_numpy() for v in sac])), rel=1e-9)
    pwm = pd.read_csv(paper / "mt30_results.csv").set_index("task").episode_reward.loc[tasks] / 1000
    assert s[(s.series == "PWM (MT30)") & (s.kind == "mean")].iloc[0].value == pytest.approx(pwm.mean(), rel=1e-9)


def test_horizon_ablation_values(built, paper):
    s = series(built, "horizon_ablation")
    h3 = pd.read_csv(paper / "mt30_results_h3.csv").episode_reward.to_numpy() / 1000
    row = s[(s.panel == "MT30") & (s.series == "PWM H=3") & (s.kind == "iqm")].iloc[0]
    assert row.value == pytest.approx(trim_mean(h3, 0.25), rel=1e-6)
    mt80 = pd.read_csv(paper / "mt80_results.csv")
    score = np.where(mt80.task.str.startswith("mw"), mt80.episode_success, mt80.episode_reward / 1000)
    row = s[(s.panel == "MT80") & (s.series == "PWM H=16") & (s.kind == "iqm")].iloc[0]
    assert row.value == pytest.approx(trim_mean(score, 0.25), rel=1e-9) == pytest.approx(0.913, abs=5e-4)
    assert "lacks cartpole-swingup-sparse" in (built / "horizon_ablation.md").read_text()


def test_batch_size_ablation_point(built, paper):
    s = series(built, "batch_size_ablation")
    table = raw_time_table(paper / "pwm_ant_bsz512.csv", "rewards", "90s") / ANT_PPO
    curve = s[s.series == "batch 512"].reset_index(drop=True)
    j = len(curve) // 2
    assert curve.x[j] == pytest.approx(table.index[j] / 60)
    assert curve.value[j] == pytest.approx(trim_mean(table.iloc[j].to_numpy(), 0.25), rel=1e-9)
    assert "byte-identical" in (built / "batch_size_ablation.md").read_text()


def test_world_model_and_activation_ablation_points(built, paper):
    s = series(built, "world_model_ablation")
    table = raw_step_table(paper / "pwm_ant_spectralnorm.csv") / ANT_PPO
    curve = s[s.series == "spectral norm"].reset_index(drop=True)
    assert curve.x[3] == table.index[3]
    assert curve.value[3] == pytest.approx(trim_mean(table.iloc[3].to_numpy(), 0.25), rel=1e-9)
    assert s[s.kind == "hardcoded"].value.tolist() == [0.044, 0.047, 0.054]
    s = series(built, "activation_ablation")
    relu = raw_step_table(paper / "pwm_anymal_relu.csv") / 12028.991672092014
    part = s[(s.panel == "anymal") & (s.series == "ReLU")]
    assert part.value.max() == pytest.approx(trim_mean(relu.to_numpy(), 0.25, axis=1).max(), rel=1e-9)


def test_hopper_stiffness_peak_bars(built, paper):
    s = series(built, "hopper_stiffness")
    ppo = raw_step_table(paper / "ppo_hopper_stiff.csv", "rewards/step", "global_step", thin=1) / HOPPER_PPO
    values = at_peak(ppo)
    row = s[(s.panel == "peak") & (s.series == "ppo") & (s.kind == "iqm")].iloc[0]
    assert row.value == pytest.approx(trim_mean(values, 0.25), rel=1e-9)
    mean = s[(s.panel == "peak") & (s.series == "ppo") & (s.kind == "mean")].iloc[0].value
    assert mean == pytest.approx(values.mean(), rel=1e-9)


def test_policy_extraction_summary(built, paper):
    s = series(built, "policy_extraction")
    values = []
    for task in paper_data.POLICY_EXTRACTION_TASKS:
        data = pd.read_csv(paper / f"tdmpc2_{task}_policy_extraction_study.csv").interpolate()
        column = next(c for c in data.columns if c.endswith("/100000.pt - pretrain/episode_reward"))
        values.append(data.loc[data.Step == 50_000, column].iloc[0])
    row = s[(s.panel == "summary") & (s.series == "TD-MPC2") & (s.x == 100_000)].iloc[0]
    assert row.value == pytest.approx(np.mean(values) / 1000, rel=1e-9)
    assert s[(s.series == "PWM") & (s.kind == "hardcoded")].value.tolist() == [0.08, 0.12, 0.89]


def test_absent_files_are_named_and_a_dropped_in_file_completes_the_figure(paper, tmp_path):
    folder = tmp_path / "published" / "pwm-paper"
    folder.mkdir(parents=True)
    keep = [
        "pwm_ant_bsz32.csv",
        "pwm_ant_bsz128.csv",
        "pwm_ant_bsz1024.csv",
        "pwm_ant_bsz2048.csv",
        "pwm_hopper_stiff.csv",
        "ppo_hopper_stiff.csv",
    ]
    for name in keep:
        (folder / name).symlink_to(paper / name)
    logs = []
    paper_figures.build("batch_size_ablation", folder.parent, tmp_path / "out", REPS, log=logs.append)
    assert "missing series: batch 512 (pwm_ant_bsz512.csv not in" in "\n".join(logs)
    assert "batch 512 (pwm_ant_bsz512.csv)" in (tmp_path / "out" / "batch_size_ablation.md").read_text()
    assert "batch 512" not in set(pd.read_csv(tmp_path / "out" / "batch_size_ablation.csv").series)
    assert paper_data.describe_missing(folder, "hopper_stiffness") == "shac (shac_hopper_stiff.csv)"
    paper_figures.build("hopper_stiffness", folder, tmp_path / "out", REPS, log=logs.append)
    text = (tmp_path / "out" / "hopper_stiffness.md").read_text()
    assert "shac (shac_hopper_stiff.csv)" in text and "results.ipynb cell 4" in text  # normaliser's source
    (folder / "pwm_ant_bsz512.csv").symlink_to(paper / "pwm_ant_bsz512.csv")
    paper_figures.build("batch_size_ablation", folder, tmp_path / "out", REPS, log=logs.append)
    assert "Missing series: none." in (tmp_path / "out" / "batch_size_ablation.md").read_text()
    assert "batch 512" in set(pd.read_csv(tmp_path / "out" / "batch_size_ablation.csv").series)


def test_workflow_plans_every_paper_figure_from_what_exists(paper, tmp_path):
    """A published_dir with only the multitask files and one ablation file still plans every figure;
    the figure's inputs are the files present."""
    folder = tmp_path / "pub" / "pwm-paper"
    folder.mkdir(parents=True)
    for name in (
        "mt30_results.csv",
        "mt80_results.csv",
        "tdmpc2_mt30_scores.csv",
        "tdmpc2_mt80_scores.csv",
        "pwm_hopper_stiff.csv",
    ):
        shutil.copy(paper / name, folder / name)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "paper",
            "--config",
            f"results={tmp_path}/r",
            f"paper={{published_dir: {folder.parent}}}",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in paper_data.PAPER_FIGURES:
        rule = "paper_single_task" if name == "single_task" else f"paper_figure_{name}"
        assert rule in result.stdout
    assert paper_data.present_files(folder, "hopper_stiffness") == [folder / "pwm_hopper_stiff.csv"]

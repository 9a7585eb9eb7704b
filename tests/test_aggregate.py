"""Aggregation equals rliable called directly on the same arrays; bad inputs fail loudly."""

import numpy as np
import pandas as pd
import pytest
from rliable import library as rly
from rliable import metrics

from pwm.analysis.aggregate import aggregate
from pwm.analysis.scores import add_normalized, collect, final_scores, score_matrices
from pwm.run import EVAL_COLUMNS

TASKS = ["cartpole-balance", "cup-catch", "walker-walk"]


def make_scores(rng, algos=("ppo", "sac"), seeds=(1, 2, 3, 4, 5), steps=(0, 100, 200)):
    rows = []
    for a, algo in enumerate(algos):
        for task in TASKS:
            for seed in seeds:
                for step in steps:
                    reward = float(rng.uniform(0, 1000) * (1 + a) / len(algos))
                    rows.append(
                        dict(
                            algo=algo,
                            task=task,
                            seed=seed,
                            step=step,
                            env_steps=step,
                            wall_time_s=1.0,
                            episode_reward=reward,
                            episode_success=0.0,
                        )
                    )
    return pd.DataFrame(rows, columns=EVAL_COLUMNS)


def test_matches_rliable_directly(tmp_path):
    frame = make_scores(np.random.default_rng(0))
    frame.to_csv(tmp_path / "scores.csv", index=False)
    result = aggregate([tmp_path / "scores.csv"], tmp_path, group="g", reps=300, seed=7)
    aggregates, profiles = result.aggregates, result.profiles

    # The independent computation: final step, reward / 1000, array (seeds, tasks), rliable.
    final = frame[frame.step == 200]
    direct = {
        algo: rows.pivot(index="seed", columns="task", values="episode_reward")[TASKS].to_numpy() / 1000
        for algo, rows in final.groupby("algo")
    }

    def fn(x):
        return np.array(
            [
                metrics.aggregate_iqm(x),
                metrics.aggregate_mean(x),
                metrics.aggregate_median(x),
                metrics.aggregate_optimality_gap(x),
            ]
        )

    np.random.seed(7)
    points, cis = rly.get_interval_estimates(direct, fn, reps=300)
    for algo in direct:
        for i, metric in enumerate(["iqm", "mean", "median", "optimality_gap"]):
            row = aggregates[(aggregates.algo == algo) & (aggregates.metric == metric)].iloc[0]
            assert row.value == pytest.approx(points[algo][i], abs=1e-12)
            assert row.ci_low == pytest.approx(cis[algo][0, i], abs=1e-12)
            assert row.ci_high == pytest.approx(cis[algo][1, i], abs=1e-12)
            assert row.ci_low <= row.value <= row.ci_high
    assert list(aggregates.columns) == ["group", "algo", "metric", "value", "ci_low", "ci_high"]
    assert set(aggregates.group) == {"g"}

    taus = np.sort(profiles.tau.unique())
    np.random.seed(7)
    prof, prof_cis = rly.create_performance_profile(direct, taus, reps=300)
    for algo in direct:
        got = profiles[profiles.algo == algo].sort_values("tau")
        np.testing.assert_allclose(got.value, prof[algo])
        np.testing.assert_allclose(got.ci_low, prof_cis[algo][0])
        np.testing.assert_allclose(got.ci_high, prof_cis[algo][1])
    # files written
    assert pd.read_csv(tmp_path / "aggregates.csv").shape == (8, 6)


def test_reproducible_and_seed_sensitive(tmp_path):
    make_scores(np.random.default_rng(1)).to_csv(tmp_path / "s.csv", index=False)
    a = aggregate([tmp_path / "s.csv"], tmp_path / "a", reps=200, seed=3, curves=False).aggregates
    b = aggregate([tmp_path / "s.csv"], tmp_path / "b", reps=200, seed=3, curves=False).aggregates
    c = aggregate([tmp_path / "s.csv"], tmp_path / "c", reps=200, seed=4, curves=False).aggregates
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.ci_low, c.ci_low)


def test_normalisation_rules():
    frame = pd.DataFrame(
        dict(task=["walker-walk", "mw-assembly"], episode_reward=[500.0, 1234.0], episode_success=[0.0, 1.0])
    )
    assert add_normalized(frame).score.tolist() == [0.5, 1.0]


def test_missing_seed_is_an_error():
    frame = make_scores(np.random.default_rng(2))
    frame = frame[~((frame.algo == "sac") & (frame.task == "cup-catch") & (frame.seed == 3))]
    with pytest.raises(ValueError, match=r"'sac': seeds differ across tasks.*\('cup-catch', 3\)"):
        score_matrices(final_scores(add_normalized(frame)))


def test_missing_task_and_nan_are_errors():
    frame = make_scores(np.random.default_rng(3))
    with pytest.raises(ValueError, match="'ppo' has no runs for tasks \\['walker-walk'\\]"):
        score_matrices(final_scores(add_normalized(frame[~((frame.algo == "ppo") & (frame.task == "walker-walk"))])))
    frame.loc[frame.index[-1], "episode_reward"] = np.nan
    with pytest.raises(ValueError, match="NaN scores"):
        score_matrices(final_scores(add_normalized(frame)))


def test_collect_rejects_duplicates_and_bad_columns(tmp_path):
    frame = make_scores(np.random.default_rng(4), algos=("sac",), seeds=(1,))
    frame.to_csv(tmp_path / "a.csv", index=False)
    out = collect([tmp_path / "a.csv"], tmp_path / "scores.csv")
    assert list(out.columns) == EVAL_COLUMNS and len(out) == len(frame)
    with pytest.raises(ValueError, match="duplicate"):
        collect([tmp_path / "a.csv", tmp_path / "a.csv"], tmp_path / "scores.csv")
    frame.drop(columns=["seed"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match=r"bad.csv: missing columns \['seed'\]"):
        collect([tmp_path / "bad.csv"], tmp_path / "scores.csv")


# ---- the PWM paper's multitask numbers: our pipeline == rliable on the notebooks' arrays --------
def notebook_arrays(reference_dir, suite):
    """The arrays multitask.ipynb builds: (tasks, seeds, 1), dm_control / 1000, Meta-World success."""
    d = reference_dir / "pwm-paper"
    pwm = pd.read_csv(d / f"mt{suite}_results.csv")
    tdmpc2 = pd.read_csv(d / f"tdmpc2_mt{suite}_scores.csv")
    for frame in (pwm, tdmpc2):
        frame["score"] = np.where(frame.task.str.startswith("mw"), frame.episode_success, frame.episode_reward / 1000)
    tasks = sorted(pwm.task)
    pwm_arr = pwm.set_index("task").loc[tasks, "score"].to_numpy()[:, None, None]
    td_arr = tdmpc2.pivot(index="task", columns="seed", values="score").loc[tasks].to_numpy()[:, :, None]
    return {"pwm": pwm_arr, "tdmpc2": td_arr}


def plain_mean(scores: np.ndarray) -> float:
    return float(np.sum(scores) / scores.size)


def interquartile_mean(scores: np.ndarray) -> float:
    """The mean of the middle half of all run scores, by sorting (independent of rliable and scipy)."""
    x = np.sort(scores.ravel())
    cut = int(0.25 * x.size)
    return float(x[cut : x.size - cut].mean())


@pytest.mark.parametrize("suite", ["30", "80"])
def test_paper_multitask_numbers_equal_rliable(reference_dir, tmp_path, suite):
    from pwm.analysis.importers import write_import

    d = reference_dir / "pwm-paper"
    write_import("pwm-multitask", "pwm", [d / f"mt{suite}_results.csv"], tmp_path / "pwm.csv")
    write_import("pwm-multitask", "tdmpc2", [d / f"tdmpc2_mt{suite}_scores.csv"], tmp_path / "td.csv")
    taus = np.linspace(0, 1, 100)
    result = aggregate(
        [tmp_path / "pwm.csv", tmp_path / "td.csv"],
        tmp_path / "out",
        group=f"mt{suite}",
        reps=300,
        seed=0,
        layout="paper",
        taus=taus,
        curves=False,
        improvement=False,
    )
    arrays = notebook_arrays(reference_dir, suite)
    iqm_last_axis = lambda s: np.array([metrics.aggregate_iqm(s[..., f]) for f in range(s.shape[-1])])  # noqa: E731
    mean_last_axis = lambda s: np.array([np.mean(s[..., f]) for f in range(s.shape[-1])])  # noqa: E731
    for metric, fn in [("iqm", iqm_last_axis), ("mean", mean_last_axis)]:
        np.random.seed(0)
        points, cis = rly.get_interval_estimates(arrays, fn, reps=300)
        for algo in arrays:
            row = result.aggregates[(result.aggregates.algo == algo) & (result.aggregates.metric == metric)].iloc[0]
            assert row.value == pytest.approx(points[algo][0], abs=1e-12)
            assert row.value == pytest.approx(
                plain_mean(arrays[algo]) if metric == "mean" else interquartile_mean(arrays[algo]), abs=1e-12
            )
            assert (row.ci_low, row.ci_high) == pytest.approx((cis[algo][0, 0], cis[algo][1, 0]), abs=1e-12)
    np.random.seed(0)
    prof, prof_cis = rly.create_performance_profile(arrays, taus, reps=300)
    for algo in arrays:
        got = result.profiles[result.profiles.algo == algo].sort_values("tau")
        np.testing.assert_allclose(got.value, prof[algo], atol=1e-12)
        np.testing.assert_allclose(got.ci_low, prof_cis[algo][0], atol=1e-12)
        np.testing.assert_allclose(got.ci_high, prof_cis[algo][1], atol=1e-12)
    # Published numbers (docs/reference-notes.md §6): MT80 PWM IQM 0.9134, TD-MPC2 0.8465; profile at 0.5.
    iqm = result.aggregates[result.aggregates.metric == "iqm"].set_index("algo").value
    expected = {"30": (0.8638, 0.6806), "80": (0.9134, 0.8465)}[suite]
    assert (iqm["pwm"], iqm["tdmpc2"]) == pytest.approx(expected, abs=1e-4)
    # The median has no interval in the paper layout (reported as missing, not a number).
    assert result.aggregates[result.aggregates.metric == "median"].ci_low.isna().all()


def test_canonical_layout_collapses_single_seed(reference_dir, tmp_path):
    from pwm.analysis.importers import write_import

    d = reference_dir / "pwm-paper"
    write_import("pwm-multitask", "pwm", [d / "mt30_results.csv"], tmp_path / "pwm.csv")
    write_import("pwm-multitask", "tdmpc2", [d / "tdmpc2_mt30_scores.csv"], tmp_path / "td.csv")
    result = aggregate(
        [tmp_path / "pwm.csv", tmp_path / "td.csv"], tmp_path / "out", reps=200, curves=False, improvement=False
    )
    pwm = result.aggregates[result.aggregates.algo == "pwm"]
    assert (pwm.ci_low == pwm.value).all() and (pwm.ci_high == pwm.value).all()


# ---- probability of improvement ------------------------------------------------------------------
def test_probability_of_improvement_equals_rliable(tmp_path):
    from pwm.analysis.improvement import improvement_estimates, probability_of_improvement

    rng = np.random.default_rng(5)
    x = rng.integers(0, 4, size=(5, 6)).astype(float) / 3  # ties on purpose
    y = rng.integers(0, 4, size=(3, 6)).astype(float) / 3
    assert probability_of_improvement(x, y) == pytest.approx(metrics.probability_of_improvement(x, y), abs=1e-15)
    assert probability_of_improvement(x, x) == 0.5 == metrics.probability_of_improvement(x, x)
    got = improvement_estimates({"a": x, "b": y}, "g", reps=100, seed=3, confidence=0.95)
    np.random.seed(3)
    points, cis = rly.get_interval_estimates(
        {("a", "b"): (x, y), ("b", "a"): (y, x)},
        lambda p, q: np.array([metrics.probability_of_improvement(p, q)]),
        reps=100,
    )
    for row in got.itertuples():
        key = (row.algo_x, row.algo_y)
        assert row.value == pytest.approx(points[key][0], abs=1e-12)
        assert (row.ci_low, row.ci_high) == pytest.approx((cis[key][0, 0], cis[key][1, 0]), abs=1e-12)
    assert list(got.columns) == ["group", "algo_x", "algo_y", "value", "ci_low", "ci_high"]


# ---- score rules, normalisation, curves ----------------------------------------------------------
def curve_scores():
    """Two algos, one task, 4 seeds; seed s scores step/100 * (1 + s/10), except a dip at the end."""
    rows = []
    for algo in ("a", "b"):
        for seed in range(4):
            for step in (0, 100, 200, 300):
                reward = (step / 100 + (1 if algo == "b" else 0)) * (1 + seed / 10) * 100
                if step == 300:
                    reward *= 0.5
                rows.append(
                    dict(
                        algo=algo,
                        task="walker-walk",
                        seed=seed,
                        step=step,
                        env_steps=step,
                        wall_time_s=0.0,
                        episode_reward=reward,
                        episode_success=0.0,
                    )
                )
    return pd.DataFrame(rows, columns=EVAL_COLUMNS)


def test_score_rules():
    from pwm.analysis.normalize import normalize
    from pwm.analysis.score_rules import choose_scores

    scores, _ = normalize(curve_scores(), "raw")
    final, _ = choose_scores(scores, "final")
    assert (final.env_steps == 300).all()
    for rule in ("max", "best", "iqm-peak"):
        chosen, _ = choose_scores(scores, rule)
        assert (chosen.env_steps == 200).all(), rule
    with pytest.raises(ValueError, match="unknown score rule"):
        choose_scores(scores, "last")


def test_score_at_equal_steps_takes_each_runs_last_evaluation_up_to_n():
    from pwm.analysis.normalize import normalize
    from pwm.analysis.score_rules import choose_scores

    scores, _ = normalize(curve_scores(), "raw")
    chosen, _ = choose_scores(scores, "at:250")
    assert (chosen.env_steps == 200).all() and len(chosen) == 8
    expected = scores[scores.step == 200].sort_values(["algo", "task", "seed"]).score.to_numpy()
    np.testing.assert_array_equal(chosen.score.to_numpy(), expected)
    assert (choose_scores(scores, "at:0")[0].env_steps == 0).all()
    short = scores[~((scores.algo == "b") & (scores.seed == 1) & (scores.step == 300))]
    with pytest.raises(
        ValueError, match=r"at:300: 1 run\(s\) end before 300 environment steps: b/walker-walk/seed1 \(200\)"
    ):
        choose_scores(short, "at:300")
    with pytest.raises(ValueError, match=r"unknown score rule 'at:x'.*at:N"):
        choose_scores(scores, "at:x")


def test_normalisations():
    from pwm.analysis.normalize import normalize

    scores = curve_scores()
    by_algo, table = normalize(scores, "algo:a")
    peak = trim_mean_peak = max(
        np.mean(sorted(r.episode_reward)[1:3]) for _, r in scores[scores.algo == "a"].groupby("step")
    )
    assert table.scale.iloc[0] == pytest.approx(trim_mean_peak)
    assert by_algo.score.to_numpy() == pytest.approx(scores.episode_reward.to_numpy() / peak)
    scaled, _ = normalize(scores, "scales", {"walker-walk": 200.0})
    assert scaled.score.to_numpy() == pytest.approx(scores.episode_reward.to_numpy() / 200)
    with pytest.raises(ValueError, match=r"no --scale for tasks \['walker-walk'\]"):
        normalize(scores, "scales", {})
    with pytest.raises(ValueError, match="no scores of 'ppo'"):
        normalize(scores, "algo:ppo")
    _, table = normalize(scores.assign(task="mw-assembly"), "tdmpc2")
    assert table.rule.iloc[0] == "tdmpc2 success"


def test_curves_equal_rliable():
    from pwm.analysis.curves import aligned_curves, iqm_curves
    from pwm.analysis.normalize import normalize

    scores, _ = normalize(curve_scores(), "tdmpc2")
    curves, notes = iqm_curves(aligned_curves(scores)[0], "g", reps=200, seed=1, confidence=0.95)
    arr = scores[scores.algo == "a"].pivot(index="seed", columns="step", values="score").to_numpy()[:, None, :]
    np.random.seed(1)
    points, cis = rly.get_interval_estimates(
        {"a": arr}, lambda s: np.array([metrics.aggregate_iqm(s[..., f]) for f in range(s.shape[-1])]), reps=200
    )
    got = curves[(curves.algo == "a") & (curves.task == "walker-walk")].sort_values("env_steps")
    np.testing.assert_allclose(got.value, points["a"], atol=1e-12)
    np.testing.assert_allclose(got.ci_low, cis["a"][0], atol=1e-12)
    np.testing.assert_allclose(got.ci_high, cis["a"][1], atol=1e-12)


def test_uneven_seeds_are_aligned_and_reported():
    from pwm.analysis.curves import aligned_curve

    runs = pd.DataFrame(
        dict(algo="a", task="t", seed=[0, 0, 0, 1, 1], env_steps=[0, 10, 20, 5, 15], score=[0.0, 1.0, 2.0, 10.0, 20.0])
    )
    table, held = aligned_curve(runs)
    assert list(table.index) == [5, 10, 15, 20]  # before seed 1's first log: dropped
    assert table[0].tolist() == [0.5, 1.0, 1.5, 2.0]  # interpolated over the union grid
    assert table[1].tolist() == [10.0, 15.0, 20.0, 20.0] and held == [1]


# ---- bad inputs ----------------------------------------------------------------------------------
def test_bad_inputs(tmp_path):
    pd.DataFrame(columns=EVAL_COLUMNS).to_csv(tmp_path / "empty.csv", index=False)
    with pytest.raises(ValueError, match="empty.csv: no rows"):
        aggregate([tmp_path / "empty.csv"], tmp_path / "o")
    frame = make_scores(np.random.default_rng(6))
    frame.loc[3, "episode_reward"] = np.nan
    frame.to_csv(tmp_path / "nan.csv", index=False)
    for rule in ("final", "max", "iqm-peak"):
        with pytest.raises(ValueError, match="NaN scores"):
            aggregate([tmp_path / "nan.csv"], tmp_path / "o", score_rule=rule, reps=10)
    with pytest.raises(ValueError, match="unknown layout"):
        aggregate([tmp_path / "nan.csv"], tmp_path / "o", layout="tasks")

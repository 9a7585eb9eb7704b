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
                    rows.append(dict(algo=algo, task=task, seed=seed, step=step, env_steps=step,
                                     wall_time_s=1.0, episode_reward=reward, episode_success=0.0))
    return pd.DataFrame(rows, columns=EVAL_COLUMNS)


def test_matches_rliable_directly(tmp_path):
    frame = make_scores(np.random.default_rng(0))
    frame.to_csv(tmp_path / "scores.csv", index=False)
    aggregates, profiles = aggregate([tmp_path / "scores.csv"], tmp_path, group="g", reps=300, seed=7)

    # The independent computation: final step, reward / 1000, array (seeds, tasks), rliable.
    final = frame[frame.step == 200]
    direct = {algo: rows.pivot(index="seed", columns="task", values="episode_reward")[TASKS].to_numpy() / 1000
              for algo, rows in final.groupby("algo")}
    fn = lambda x: np.array([metrics.aggregate_iqm(x), metrics.aggregate_mean(x),  # noqa: E731
                             metrics.aggregate_median(x), metrics.aggregate_optimality_gap(x)])
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
    a, _ = aggregate([tmp_path / "s.csv"], tmp_path / "a", reps=200, seed=3)
    b, _ = aggregate([tmp_path / "s.csv"], tmp_path / "b", reps=200, seed=3)
    c, _ = aggregate([tmp_path / "s.csv"], tmp_path / "c", reps=200, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.ci_low, c.ci_low)


def test_normalisation_rules():
    frame = pd.DataFrame(dict(task=["walker-walk", "mw-assembly"], episode_reward=[500.0, 1234.0],
                              episode_success=[0.0, 1.0]))
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

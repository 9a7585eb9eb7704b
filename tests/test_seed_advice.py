"""Seed advice (issue 20, item 5): the CI half-width of each aggregate and the seeds that would
bring it under a target, checked against the closed form for the mean of normal scores."""

import math

import numpy as np
import pandas as pd
import pytest

from pwm.analysis.aggregate import aggregate
from pwm.analysis.seed_advice import seed_advice, seed_warnings, seeds_needed
from pwm.schema import EVAL_COLUMNS


def test_seeds_needed_scales_with_the_square_of_the_width_ratio():
    assert seeds_needed(5, 0.10, 0.05) == 20  # twice as wide: four times the seeds
    assert seeds_needed(8, 0.15, 0.05) == 72
    assert seeds_needed(10, 0.04, 0.05) == 10  # already narrow enough
    assert seeds_needed(3, 0.051, 0.05) == 4  # rounded up
    with pytest.raises(ValueError, match="target half-width must be > 0"):
        seeds_needed(3, 0.1, 0)


def scores_file(path, values, algo="a", task="cartpole-balance"):
    """One final evaluation per seed whose normalised score (reward / 1000) is ``values[seed]``."""
    rows = [
        dict(
            algo=algo,
            task=task,
            seed=s,
            step=10,
            env_steps=10,
            wall_time_s=1.0,
            episode_reward=1000 * v,
            episode_success=0.0,
        )
        for s, v in enumerate(values)
    ]
    pd.DataFrame(rows, columns=EVAL_COLUMNS).to_csv(path, index=False)
    return path


def test_the_mean_of_normal_scores_matches_the_closed_form(tmp_path):
    rng = np.random.default_rng(0)
    n, sigma, target = 20, 0.2, 0.05
    values = 0.5 + sigma * rng.standard_normal(n)
    result = aggregate(
        [scores_file(tmp_path / "s.csv", values)],
        tmp_path,
        reps=4000,
        curves=False,
        improvement=False,
        seed_target=target,
    )
    advice = result.seed_advice.set_index("metric")
    # The percentile bootstrap of a mean over n runs: half-width ~ z * sd(ddof=0) / sqrt(n).
    expected_half = 1.959964 * values.std() / math.sqrt(n)
    assert advice.loc["mean", "half_width"] == pytest.approx(expected_half, rel=0.08)
    assert advice.loc["mean", "seeds"] == n and advice.loc["mean", "target"] == target
    closed_form = (1.959964 * values.std() / target) ** 2  # seeds for a ±target interval
    assert advice.loc["mean", "seeds_needed"] == pytest.approx(closed_form, rel=0.17)
    written = pd.read_csv(tmp_path / "seed_advice.csv")
    assert set(written.metric) == {"mean", "median", "iqm", "optimality_gap"}
    assert "a has" not in " ".join(result.notes)  # 20 seeds: no warning


def test_seed_advice_reads_the_interval_and_warns_about_few_or_unequal_seeds():
    aggregates = pd.DataFrame(
        [
            dict(group="g", algo="a", metric="iqm", value=0.5, ci_low=0.4, ci_high=0.6),
            dict(group="g", algo="b", metric="iqm", value=0.5, ci_low=np.nan, ci_high=np.nan),
        ]
    )
    run_scores = pd.DataFrame(dict(algo=["a"] * 3 + ["b"] * 6, seed=[1, 2, 3, 1, 2, 3, 4, 5, 6], score=0.5))
    advice = seed_advice(aggregates, run_scores, target=0.05)
    assert advice[["algo", "seeds", "seeds_needed"]].values.tolist() == [["a", 3, 12]]
    assert advice.half_width.iloc[0] == pytest.approx(0.1)
    warnings = seed_warnings(run_scores)
    assert warnings[0].startswith("a has 3 seeds (fewer than 5)")
    assert warnings[1] == "seed counts differ between algorithms (a: 3, b: 6): their intervals are not equally wide"

"""Figures: every kind is written as PDF and PNG from aggregate outputs; colours are per algorithm."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from pwm.analysis import figures, style
from pwm.analysis.aggregate import aggregate
from pwm.cli import main
from pwm.run import EVAL_COLUMNS

ALGOS = ("pwm", "tdmpc2 (published)")


def colour_pixels(image: np.ndarray, colour: str) -> int:
    """Pixels of ``image`` [H, W, 3] within 0.03 of ``colour``, solid or blended at alpha 0.85 on white."""
    solid = np.asarray(to_rgb(colour))
    count = 0
    for target in (solid, 0.85 * solid + 0.15):
        count += int((np.abs(image - target).max(-1) < 0.03).sum())
    return count


def test_colours_are_fixed_per_name():
    assert style.color("pwm") == style.color("PWM") == style.color("pwm (published)")
    assert style.color("tdmpc2") == style.color("TD-MPC2") != style.color("pwm")
    assert style.color("my-new-algo") == style.color("my-new-algo")  # stable for unknown names
    assert style.label("tdmpc2 (published)") == "TD-MPC2 (published)"
    assert style.label("tdmpc2_planning") == "MPPI planning (same model)"
    assert style.color("tdmpc2_planning") not in (
        style.color("tdmpc2"),
        style.color("pwm"),
        style.color("random_policy"),
    )
    assert figures.algorithm_colors(["sac", "pwm"])["pwm"] == figures.algorithm_colors(["pwm"])["pwm"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("agg")
    rng = np.random.default_rng(0)
    rows = []
    for algo in ALGOS:
        for task in ("walker-walk", "cup-catch"):
            for seed in (1, 2, 3):
                for step in (0, 100, 200):
                    rows.append(
                        dict(
                            algo=algo,
                            task=task,
                            seed=seed,
                            step=step,
                            env_steps=step,
                            wall_time_s=0.0,
                            episode_reward=rng.uniform(0, 1000) * step / 200,
                            episode_success=0.0,
                        )
                    )
    pd.DataFrame(rows, columns=EVAL_COLUMNS).to_csv(tmp / "scores.csv", index=False)
    for group in ("mt30", "mt80"):
        aggregate([tmp / "scores.csv"], tmp / group, group=group, reps=50)
    return tmp


@pytest.mark.parametrize(
    "kind,stems",
    [
        ("experiment", ["aggregates", "curves", "improvement"]),
        ("single-task", ["single_task", "improvement"]),
        ("multitask", ["multitask", "multitask_tasks", "improvement"]),
    ],
)
def test_every_kind_writes_pdf_and_png(outputs, tmp_path, kind, stems):
    groups = ["mt30", "mt80"] if kind == "multitask" else ["mt30"]
    files = lambda name: [str(outputs / g / f"{name}.csv") for g in groups]  # noqa: E731
    main(
        [
            "figures",
            "--kind",
            kind,
            "--aggregates",
            *files("aggregates"),
            "--profiles",
            *files("profiles"),
            "--curves",
            *files("curves"),
            "--improvement",
            *files("improvement"),
            "--run-scores",
            *files("run_scores"),
            "--tables",
            str(tmp_path / "tables.md"),
            "--out-dir",
            str(tmp_path),
        ]
    )
    for stem in stems:
        pdf = (tmp_path / f"{stem}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and b"/Type /Page" in pdf and pdf.rstrip().endswith(b"%%EOF")
        image = plt.imread(tmp_path / f"{stem}.png")[..., :3]
        assert min(image.shape[:2]) >= 200, image.shape
        for algo in ALGOS:  # each algorithm is drawn in its own colour (solid or at the bars' alpha 0.85)
            assert colour_pixels(image, style.color(algo)) >= 50, (stem, algo)
    assert "| mt30 | PWM |" in (tmp_path / "tables.md").read_text()


def test_improvement_focus_must_exist(outputs, tmp_path):
    improvement = pd.read_csv(outputs / "mt30" / "improvement.csv")
    with pytest.raises(ValueError, match="no probability-of-improvement rows for --focus 'ppo'"):
        figures.plot_improvement(improvement, tmp_path / "x", focus="ppo")

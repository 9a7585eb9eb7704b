"""One look for every figure: an algorithm's colour and label, published-run marking, paper sizes.

Colours are fixed per algorithm *name* (not per figure), so PWM is the same orange in the
single-task, multitask and improvement figures and in every experiment's figures; the known
names follow the PWM notebooks' choices (seaborn "deep": PWM orange, TD-MPC2 purple, SAC red,
PPO green, SHAC blue, DreamerV3 pink). Other names get a stable colour from a hash of the name.
Imported published runs are named ``<algo> (published)``: same colour as ``<algo>``, hatched bars
and dashed lines.
"""

from __future__ import annotations

import re
import zlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

PUBLISHED_SUFFIX = " (published)"
COLUMN_WIDTH_IN = 3.25  # one column of a two-column paper
TEXT_WIDTH_IN = 6.75  # full text width
# seaborn's "deep" colours for the known names, its "dark" ones as more free colours for new baselines
PALETTE = sns.color_palette("deep", 10) + sns.color_palette("dark", 10)
KNOWN = {  # name key -> (palette index, display label)
    "shac": (0, "SHAC"),
    "pwm": (1, "PWM"),
    "ppo": (2, "PPO"),
    "sac": (3, "SAC"),
    "tdmpc2": (4, "TD-MPC2"),
    "tdmpc": (5, "TD-MPC"),
    "dreamerv3": (6, "DreamerV3"),
    "randompolicy": (7, "Random"),
    # eval_tdmpc2: MPPI with the multitask world model PWM uses, not the TD-MPC2 paper's agent
    "tdmpc2planning": (8, "MPPI planning (same model)"),
}
FREE = [i for i in range(len(PALETTE)) if i not in {k for k, _ in KNOWN.values()}]


def is_published(algo: str) -> bool:
    return algo.endswith(PUBLISHED_SUFFIX)


def base_name(algo: str) -> str:
    return algo.removesuffix(PUBLISHED_SUFFIX)


def key(algo: str) -> str:
    return re.sub(r"[^a-z0-9]", "", base_name(algo).lower())


def color(algo: str) -> tuple:
    known = KNOWN.get(key(algo))
    if known:
        return PALETTE[known[0]]
    return PALETTE[FREE[zlib.crc32(key(algo).encode()) % len(FREE)]]


def label(algo: str) -> str:
    known = KNOWN.get(key(algo))
    name = known[1] if known else base_name(algo)
    return name + (" (published)" if is_published(algo) else "")


def hatch(algo: str) -> str | None:
    return "///" if is_published(algo) else None


def linestyle(algo: str) -> str:
    return "--" if is_published(algo) else "-"


def paper_style() -> None:
    """Small fonts that stay legible when the figure is printed at column or text width."""
    sns.set_theme(style="whitegrid", context="paper")
    plt.rcParams.update(
        {
            "font.size": 7,
            "axes.titlesize": 8,
            "axes.labelsize": 7,
            "xtick.labelsize": 6,
            "ytick.labelsize": 6,
            "legend.fontsize": 7,
            "axes.titleweight": "bold",
            "lines.linewidth": 1.2,
            "pdf.fonttype": 42,
        }
    )

"""The names the analysis sub-commands accept (``--layout``, ``--ci-method``, ``--format``,
``--score``), with no imports, so that `pwm-bench`'s parser (and ``--help``) is built without
pandas, rliable or matplotlib; the modules that implement each choice import them from here.
"""

from __future__ import annotations

LAYOUTS = ("canonical", "paper")  # pwm.analysis.aggregate: rliable's runs x tasks, or tasks-as-runs
CI_METHODS = ("percentile", "basic", "bc", "bca")  # rliable's bootstrap interval methods
FORMATS = ("tdmpc2-results", "pwm-multitask", "pwm-single-task")  # pwm.analysis.importers
SCORE_RULES = ("final", "max", "best", "iqm-peak", "at:N")  # pwm.analysis.score_rules


def check_rule(rule: str) -> str:
    """``rule`` if it is a score rule (``at:N`` with a whole number N >= 0), else a ValueError."""
    if rule in SCORE_RULES[:-1] or (rule.startswith("at:") and rule[3:].isdigit()):
        return rule
    raise ValueError(f"unknown score rule {rule!r}; known: {', '.join(SCORE_RULES)} (e.g. at:20480)")

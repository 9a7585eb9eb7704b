"""The columns of ``eval.csv``: the contract between a training run, which writes one row per
evaluation (``pwm.run``, ``pwm.eval_planning``), and the analysis, which reads them as the tidy
scores table (``scores.csv`` has the same columns).

A module of its own, with no imports, so that the analysis jobs (collect, aggregate, figures) read
the schema without importing the training harness and, through it, torch, gymnasium and the
simulators.
"""

EVAL_COLUMNS = ["algo", "task", "seed", "step", "env_steps", "wall_time_s", "episode_reward", "episode_success"]

"""Checks of a workflow config that a JSON schema cannot express, run when the DAG is built.

The schema (workflow/schemas/config.schema.yaml) checks structure and types; this module checks
names against what exists: every task must be registered (suite names such as ``mt30`` are
expanded in place to their ordered task lists first), and every algorithm must have a
``train_<name>`` rule in the workflow (so adding a rule is what makes a baseline available).
Errors name the key, the bad value and what is allowed, before any job starts.
"""
from __future__ import annotations

import difflib

from pwm.algorithms import load as load_algorithm
from pwm.envs.registry import get_spec, task_names, unknown_task_message
from pwm.envs.suites import SUITES, expand_tasks


class ConfigError(ValueError):
    pass


def check_experiments(config: dict, algorithms: list[str]) -> None:
    tasks = set(task_names())
    for exp, spec in config["experiments"].items():
        for i, task in enumerate(spec["tasks"]):
            if task not in tasks and task not in SUITES:
                raise ConfigError(unknown_task_message(task, where=f"experiments.{exp}.tasks[{i}]"))
        spec["tasks"] = expand_tasks(spec["tasks"])
        for algo in spec["algorithms"]:
            if algo not in algorithms:
                close = difflib.get_close_matches(algo, algorithms, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ConfigError(
                    f"unknown algorithm {algo!r} at experiments.{exp}.algorithms{hint}; allowed: "
                    f"{', '.join(sorted(algorithms))} (each needs a rule train_<name> in "
                    "workflow/rules/algorithms.smk)")
        for algo in spec["algorithms"]:
            families = getattr(load_algorithm(algo), "TASK_FAMILIES", None)
            for task in spec["tasks"] if families else []:
                if get_spec(task).family not in families:
                    raise ConfigError(
                        f"algorithm {algo!r} cannot train on task {task!r} of experiment {exp!r}: it "
                        f"needs tasks of family {', '.join(families)}, and {task!r} is "
                        f"{get_spec(task).family}; `pwm-bench tasks` lists each task's family")
        for algo, budget in spec["algorithms"].items():
            if budget["eval_every"] > budget["steps"]:
                raise ConfigError(f"experiments.{exp}.algorithms.{algo}.eval_every="
                                  f"{budget['eval_every']} exceeds steps={budget['steps']}")

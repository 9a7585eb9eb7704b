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
    for exp, spec in config["experiments"].items():
        check_collection(config, exp, spec)


def check_collection(config: dict, exp: str, spec: dict) -> None:
    """A world model's data source must exist: ``collect_from`` names an experiment that runs
    ``collect_algo`` on every task of this one; otherwise this experiment needs that algorithm or a
    ``collect`` budget (unless an existing dataset or checkpoint is given)."""
    wm = spec.get("world_model")
    if not wm or wm.get("dataset") or wm.get("checkpoint"):
        return
    algo, source = wm.get("collect_algo", "tdmpc2"), wm.get("collect_from")
    where = f"experiments.{exp}.world_model"
    if source is None:
        if algo not in spec["algorithms"] and "collect" not in wm:
            raise ConfigError(f"{where}: the dataset comes from {algo} runs, but {algo} is not among the "
                              f"experiment's algorithms and no collect budget is given")
        return
    experiments = config["experiments"]
    if source not in experiments or source == exp:
        close = difflib.get_close_matches(source, [e for e in experiments if e != exp], n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"{where}.collect_from={source!r} is not another experiment of this config{hint}")
    if algo not in experiments[source]["algorithms"]:
        raise ConfigError(f"{where}.collect_from={source!r}: that experiment does not run {algo} "
                          f"(collect_algo); its algorithms: {', '.join(experiments[source]['algorithms'])}")
    missing = [t for t in spec["tasks"] if t not in experiments[source]["tasks"]]
    if missing:
        raise ConfigError(f"{where}.collect_from={source!r}: that experiment has no runs on {', '.join(missing)}")
    seed = wm.get("collect_seed", experiments[source]["seeds"][0])
    if seed not in experiments[source]["seeds"]:
        raise ConfigError(f"{where}.collect_seed={seed} is not a seed of experiment {source!r}")

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
            check_budget(budget, spec["tasks"], f"experiments.{exp}.algorithms.{algo}")
    for exp, spec in config["experiments"].items():
        if spec["kind"] == "single-task":
            check_single_task_world_model(config, exp, spec)
        else:
            check_collection(config, exp, spec)


def task_budget(budget: dict, task: str) -> dict:
    """``budget`` with its ``per_task`` entry for ``task`` merged in (hparams merged key by key)."""
    override = budget.get("per_task", {}).get(task, {})
    merged = {k: v for k, v in budget.items() if k != "per_task"}
    merged.update({k: v for k, v in override.items() if k != "hparams"})
    merged["hparams"] = {**budget.get("hparams", {}), **override.get("hparams", {})}
    return merged


def _check_task_keys(keys, tasks: list[str], where: str) -> None:
    for task in keys:
        if task not in tasks:
            close = difflib.get_close_matches(task, tasks, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"{where}: {task!r} is not a task of this experiment{hint}; its tasks: {', '.join(tasks)}")


def check_budget(budget: dict, tasks: list[str], where: str) -> None:
    """Per-task overrides name tasks of the experiment, and every task's eval_every fits its steps."""
    _check_task_keys(budget.get("per_task", {}), tasks, f"{where}.per_task")
    for task in tasks:
        b = task_budget(budget, task)
        if b["eval_every"] > b["steps"]:
            at = f"{where}.per_task.{task}" if task in budget.get("per_task", {}) else where
            raise ConfigError(f"{at}: eval_every={b['eval_every']} exceeds steps={b['steps']}"
                              + (f" (task {task})" if at == where and budget.get("per_task") else ""))


SINGLE_TASK_PWM_INPUTS = ("offline_data", "pretrained_world_model")


def uses_single_task_pipeline(spec: dict) -> bool:
    """A single-task experiment's PWM runs take their world models from the per-task pipeline unless
    the pwm budget's hparams name the inputs themselves."""
    if spec["kind"] != "single-task" or "pwm" not in spec["algorithms"]:
        return False
    hparams = spec["algorithms"]["pwm"].get("hparams", {})
    return not any(hparams.get(k) for k in SINGLE_TASK_PWM_INPUTS)


def single_task_collection(config: dict, exp: str) -> tuple[str, int]:
    """(experiment, seed) of the SHAC runs whose rollouts are a single-task experiment's data."""
    wm = config["experiments"][exp].get("world_model", {})
    source = wm.get("collect_from", exp)
    return source, wm.get("collect_seed", config["experiments"][source]["seeds"][0])


def check_single_task_world_model(config: dict, exp: str, spec: dict) -> None:
    """Every task of a single-task PWM experiment has a world model: given, pre-trained from given
    data, or pre-trained from a SHAC run (of this experiment: shac listed or a collect budget; or
    of the experiment ``collect_from`` names)."""
    wm, where = spec.get("world_model", {}), f"experiments.{exp}.world_model"
    for key in ("data", "checkpoint", "per_task"):
        _check_task_keys(wm.get(key, {}), spec["tasks"], f"{where}.{key}")
    if "collect" in wm:
        check_budget(wm["collect"], spec["tasks"], f"{where}.collect")
    if not uses_single_task_pipeline(spec):
        return
    need_runs = [t for t in spec["tasks"] if t not in wm.get("data", {}) and t not in wm.get("checkpoint", {})]
    if not need_runs:
        return
    if "collect_from" in wm:
        source, experiments = wm["collect_from"], config["experiments"]
        if source not in experiments or source == exp or experiments[source]["kind"] != "single-task":
            others = [e for e, v in experiments.items() if e != exp and v["kind"] == "single-task"]
            close = difflib.get_close_matches(source, others, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"{where}.collect_from={source!r} is not another single-task experiment of this "
                              f"config{hint}")
        if "shac" not in experiments[source]["algorithms"]:
            raise ConfigError(f"{where}.collect_from={source!r}: that experiment does not run shac")
        missing = [t for t in need_runs if t not in experiments[source]["tasks"]]
        if missing:
            raise ConfigError(f"{where}.collect_from={source!r}: that experiment has no runs on {', '.join(missing)}")
        seed = single_task_collection(config, exp)[1]
        if seed not in experiments[source]["seeds"]:
            raise ConfigError(f"{where}.collect_seed={seed} is not a seed of experiment {source!r}")
        return
    if "shac" not in spec["algorithms"] and "collect" not in wm:
        raise ConfigError(
            f"{where}: single-task PWM pre-trains its world model of {', '.join(need_runs)} on a SHAC run's "
            "rollouts, but shac is not among the experiment's algorithms and no world_model.collect budget is "
            "given (or give world_model.data / world_model.checkpoint per task)")
    seed = single_task_collection(config, exp)[1]
    if "shac" in spec["algorithms"] and "collect" not in wm and seed not in spec["seeds"]:
        raise ConfigError(f"{where}.collect_seed={seed} is not a seed of experiment {exp!r} "
                          f"(seeds: {spec['seeds']}); its SHAC run supplies the data")


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

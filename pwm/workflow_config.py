"""Checks of a workflow config that a JSON schema cannot express, run when the DAG is built.

The schema (workflow/schemas/config.schema.yaml) checks structure and types; this module checks
names against what exists: every task must be registered (suite names such as ``mt30`` are
expanded in place to their ordered task lists first), and every algorithm must have a
``train_<name>`` rule in the workflow (so adding a rule is what makes a baseline available).
Errors name the key, the bad value and what is allowed, before any job starts.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from pwm import hparams
from pwm.algorithms import task_families
from pwm.envs.dflex.availability import missing_message, missing_reason
from pwm.envs.suites import SUITES, dflex_task, expand_tasks, task_family


class ConfigError(ValueError):
    pass


SCHEMA_PATH = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"


def check_experiments(config: dict, algorithms: list[str], local_exec: bool | None = None) -> None:
    """Every check of this module, in order; ``local_exec`` (default: the calling Snakefile's
    ``workflow.local_exec``, True outside Snakemake) says whether jobs run on this machine."""
    if local_exec is None:
        workflow = sys._getframe(1).f_globals.get("workflow")
        local_exec = bool(getattr(workflow, "local_exec", True)) and not getattr(workflow, "remote_exec", False)
    check_integers(config)
    check_device(config, local_exec)
    _check_experiments(config, algorithms)


def validate_config(config: dict, configfiles=(), schema_path: str | Path = SCHEMA_PATH) -> None:
    """What the Snakefile runs before anything else: each config file re-read strictly (duplicate keys
    and syntax errors with file, line and column), then the schema with one-line errors (the key path,
    the bad value or key, and the allowed keys), then snakemake's own validate (fills defaults)."""
    import jsonschema
    import yaml
    from snakemake.utils import validate

    from pwm.strict_yaml import load_yaml_strict

    for path in configfiles:
        load_yaml_strict(path)
    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(config))
    # An error inside an if/then/else branch follows from another value (kind: multi takes the
    # multitask branch and then misses world_model.suite): report that value's own error first.
    unconditional = [e for e in errors if not {"then", "else"} & set(e.absolute_schema_path)]
    error = jsonschema.exceptions.best_match(unconditional or errors)
    if error is not None:
        where = (
            "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".") or "config"
        )
        if error.validator == "additionalProperties":
            allowed = sorted(_resolve(error.schema, schema).get("properties", {}))
            extra = sorted(set(error.instance) - set(allowed))
            close = difflib.get_close_matches(str(extra[0]), allowed, n=3) if extra else []
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(
                f"{where}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}{hint}; "
                f"allowed: {', '.join(allowed)}"
            )
        raise ConfigError(f"{where}: {error.message}")
    validate(config, str(schema_path))


def check_device(config: dict, local_exec: bool = True) -> None:
    """``device: cuda`` on a machine without CUDA fails here, once, instead of in every job's log
    (unless the jobs go to a cluster executor, whose nodes may have GPUs)."""
    device = config.get("device", "cpu")
    if local_exec and str(device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                f"device: {device!r}, but CUDA is not available on this machine (torch "
                f"{torch.__version__}) and the jobs run here; set device: cpu, or run with a cluster "
                "executor (--profile workflow/profiles/slurm) whose nodes have GPUs"
            )


def _schema() -> dict:
    import yaml

    return yaml.safe_load(SCHEMA_PATH.read_text())


def _resolve(schema: dict, root: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        node = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _float_integers(value, schema: dict, root: dict, where: str):
    """(where, value) of every float given where the schema asks for an integer (JSON Schema's
    ``integer`` accepts 2000.0, which would then become a path such as ``seed1.0``)."""
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return
    types_ = schema.get("type")
    types_ = types_ if isinstance(types_, list) else [types_]
    if isinstance(value, float) and "integer" in types_ and "number" not in types_:
        yield where, value
    branch = schema.get("if")
    if isinstance(branch, dict) and isinstance(value, dict):
        conds = branch.get("properties", {})
        hit = all(value.get(k) == c.get("const") for k, c in conds.items() if "const" in c)
        extra = schema.get("then" if hit else "else")
        if extra:
            yield from _float_integers(value, extra, root, where)
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub:
                yield from _float_integers(item, sub, root, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from _float_integers(item, schema["items"], root, f"{where}[{i}]")


def check_integers(config: dict) -> None:
    """Integer-valued settings (steps, seeds, eval_every, ...) reject floats such as 2000.0."""
    root = _schema()
    for where, value in _float_integers(config, root, root, ""):
        hint = f" (write {int(value)})" if value.is_integer() else ""
        raise ConfigError(f"{where}={value!r}: expected an integer, got a float{hint}")


def _where_budget(where: str, budget: dict, task: str) -> str:
    return f"{where}.per_task.{task}" if "hparams" in budget.get("per_task", {}).get(task, {}) else where


def check_budget_hparams(algo: str, budget: dict, tasks: list[str], where: str) -> None:
    """Each task's merged hyperparameters (``task_budget(budget, task)["hparams"]``) against the
    algorithm's documented defaults (pwm.hparams: names with close matches, and types), before any
    job starts. The defaults files are read without importing any algorithm, so this costs no torch,
    SB3 or simulator import. An algorithm's semantic checks (SHAC's task, TD-MPC2's ``episodic``
    values, PWM's ``reward_units``) run when its job starts."""
    seen = set()
    per_task_defaults = hparams.task_dependent(algo)
    for task in tasks:
        given = task_budget(budget, task)["hparams"]
        at = _where_budget(where, budget, task)
        if per_task_defaults and at == where:
            at = f"{where} (task {task})"  # the same hparams may suit one task's defaults, not another's
        key = (task if per_task_defaults else None, at, repr(sorted(given.items(), key=lambda kv: kv[0])))
        if key in seen:
            continue
        seen.add(key)
        try:
            hparams.check(algo, task, given, at)
        except ValueError as err:
            raise ConfigError(str(err)) from None


def _check_experiments(config: dict, algorithms: list[str]) -> None:
    # Task names and families come from pwm.envs.suites' table (no simulator import); the registry
    # is imported only to name close matches of an unknown task.
    for exp, spec in config["experiments"].items():
        for i, task in enumerate(spec["tasks"]):
            if task not in SUITES and task_family(task) is None:
                from pwm.envs.registry import unknown_task_message

                raise ConfigError(unknown_task_message(task, where=f"experiments.{exp}.tasks[{i}]"))
        spec["tasks"] = expand_tasks(spec["tasks"])
        use_simulator(exp, spec)
        for i, task in enumerate(spec["tasks"]):
            if task_family(task) == "dflex" and missing_reason() is not None:
                raise ConfigError(f"experiments.{exp}.tasks[{i}]: {missing_message(task)}")
        for algo in spec["algorithms"]:
            if algo not in algorithms:
                close = difflib.get_close_matches(algo, algorithms, n=3)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                raise ConfigError(
                    f"unknown algorithm {algo!r} at experiments.{exp}.algorithms{hint}; allowed: "
                    f"{', '.join(sorted(algorithms))} (each needs a rule train_<name> in "
                    "workflow/rules/algorithms.smk)"
                )
        for algo in spec["algorithms"]:
            families = task_families(algo)
            for task in spec["tasks"] if families else []:
                if task_family(task) not in families:
                    raise ConfigError(
                        f"algorithm {algo!r} cannot train on task {task!r} of experiment {exp!r}: it "
                        f"needs tasks of family {' or '.join(families)}, and {task!r} is "
                        f"{task_family(task)}; `pwm-bench tasks` lists each task's family"
                    )
        for algo, budget in spec["algorithms"].items():
            check_budget(budget, spec["tasks"], f"experiments.{exp}.algorithms.{algo}")
            check_budget_hparams(algo, budget, spec["tasks"], f"experiments.{exp}.algorithms.{algo}")
        if spec["kind"] == "multitask" and not spec.get("world_model"):
            raise ConfigError(
                f"experiments.{exp}: kind multitask needs a world_model block (suite, and collect_algo / collect, "
                "dataset or checkpoint): its PWM and planning runs use one world model of the whole suite. "
                "For independent per-task runs use kind: single-task"
            )
    for exp, spec in config["experiments"].items():
        if spec["kind"] == "single-task":
            check_single_task_world_model(config, exp, spec)
        else:
            check_collection(config, exp, spec)
        check_landscape(config, exp, spec)


def use_simulator(exp: str, spec: dict) -> None:
    """``simulator: dflex``: each task becomes its dflex task (``hopper`` -> ``dflex-hopper``, ``quadruped``
    -> ``dflex-anymal``), in ``tasks`` and in every mapping keyed by task, so a config written for the
    MuJoCo tasks switches simulator with this one setting. In place, and a no-op when run again."""
    if spec.get("simulator", "mujoco") != "dflex":
        return
    where = f"experiments.{exp}"

    def rename(task: str, at: str) -> str:
        try:
            return dflex_task(task)
        except ValueError as err:
            raise ConfigError(f"{where}.{at}: simulator dflex: {err}") from None

    def rename_keys(mapping: dict, at: str) -> dict:
        return {rename(task, at): value for task, value in mapping.items()}

    spec["tasks"] = [rename(t, "tasks") for t in spec["tasks"]]
    budgets = {f"algorithms.{a}": b for a, b in spec["algorithms"].items()}
    wm = spec.get("world_model", {})
    if "collect" in wm:
        budgets["world_model.collect"] = wm["collect"]
    for at, budget in budgets.items():
        if "per_task" in budget:
            budget["per_task"] = rename_keys(budget["per_task"], f"{at}.per_task")
    for key in ("data", "checkpoint", "per_task"):
        if key in wm:
            wm[key] = rename_keys(wm[key], f"world_model.{key}")
    if "tasks" in spec.get("landscape", {}):
        spec["landscape"]["tasks"] = [rename(t, "landscape.tasks") for t in spec["landscape"]["tasks"]]


def check_landscape(config: dict, exp: str, spec: dict) -> None:
    """A `landscape` block needs PWM's single-task pipeline: the task's world model and PWM seeds."""
    if "landscape" not in spec:
        return
    where = f"experiments.{exp}.landscape"
    if spec["kind"] != "single-task" or "pwm" not in spec["algorithms"]:
        raise ConfigError(f"{where}: needs kind single-task with pwm among the algorithms (its world model and actors)")
    for task in spec["landscape"].get("tasks", []):
        if task not in spec["tasks"]:
            raise ConfigError(f"{where}.tasks: {task!r} is not a task of {exp} ({', '.join(spec['tasks'])})")
    tasks = spec["landscape"].get("tasks", spec["tasks"])
    for name, other in spec["landscape"].get("ablations", {}).items():
        ablated = config["experiments"].get(other)
        if name == "experiment" or other == exp:
            raise ConfigError(f"{where}.ablations.{name}: the name 'experiment' and this experiment itself are taken")
        if ablated is None or ablated["kind"] != "single-task" or "pwm" not in ablated["algorithms"]:
            raise ConfigError(
                f"{where}.ablations.{name}={other!r}: not a single-task experiment with pwm of this config "
                f"(its world model and PWM seeds are the ablation's)"
            )
        missing = [t for t in tasks if t not in ablated["tasks"]]
        if missing:
            raise ConfigError(f"{where}.ablations.{name}={other!r}: that experiment has no {', '.join(missing)}")


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
            raise ConfigError(
                f"{where}: {task!r} is not a task of this experiment{hint}; its tasks: {', '.join(tasks)}"
            )


def check_budget(budget: dict, tasks: list[str], where: str) -> None:
    """Per-task overrides name tasks of the experiment, and every task's eval_every fits its steps."""
    _check_task_keys(budget.get("per_task", {}), tasks, f"{where}.per_task")
    for task in tasks:
        b = task_budget(budget, task)
        if b["eval_every"] > b["steps"]:
            at = f"{where}.per_task.{task}" if task in budget.get("per_task", {}) else where
            raise ConfigError(
                f"{at}: eval_every={b['eval_every']} exceeds steps={b['steps']}"
                + (f" (task {task})" if at == where and budget.get("per_task") else "")
            )


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
        check_budget_hparams("shac", wm["collect"], spec["tasks"], f"{where}.collect")
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
            raise ConfigError(
                f"{where}.collect_from={source!r} is not another single-task experiment of this config{hint}"
            )
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
            "given (or give world_model.data / world_model.checkpoint per task)"
        )
    seed = single_task_collection(config, exp)[1]
    if "shac" in spec["algorithms"] and "collect" not in wm and seed not in spec["seeds"]:
        raise ConfigError(
            f"{where}.collect_seed={seed} is not a seed of experiment {exp!r} "
            f"(seeds: {spec['seeds']}); its SHAC run supplies the data"
        )


def check_collection(config: dict, exp: str, spec: dict) -> None:
    """A world model's data source must exist: ``collect_from`` names an experiment that runs
    ``collect_algo`` on every task of this one; otherwise this experiment needs that algorithm or a
    ``collect`` budget (unless an existing dataset or checkpoint is given)."""
    wm = spec.get("world_model")
    if wm and "collect" in wm:
        collect_algo, at = wm.get("collect_algo", "tdmpc2"), f"experiments.{exp}.world_model.collect"
        check_budget(wm["collect"], spec["tasks"], at)
        check_budget_hparams(collect_algo, wm["collect"], spec["tasks"], at)
    if not wm or wm.get("dataset") or wm.get("checkpoint"):
        return
    algo, source = wm.get("collect_algo", "tdmpc2"), wm.get("collect_from")
    where = f"experiments.{exp}.world_model"
    if source is None:
        if algo not in spec["algorithms"] and "collect" not in wm:
            raise ConfigError(
                f"{where}: the dataset comes from {algo} runs, but {algo} is not among the "
                f"experiment's algorithms and no collect budget is given"
            )
        return
    experiments = config["experiments"]
    if source not in experiments or source == exp:
        close = difflib.get_close_matches(source, [e for e in experiments if e != exp], n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"{where}.collect_from={source!r} is not another experiment of this config{hint}")
    if algo not in experiments[source]["algorithms"]:
        raise ConfigError(
            f"{where}.collect_from={source!r}: that experiment does not run {algo} "
            f"(collect_algo); its algorithms: {', '.join(experiments[source]['algorithms'])}"
        )
    missing = [t for t in spec["tasks"] if t not in experiments[source]["tasks"]]
    if missing:
        raise ConfigError(f"{where}.collect_from={source!r}: that experiment has no runs on {', '.join(missing)}")
    seed = wm.get("collect_seed", experiments[source]["seeds"][0])
    if seed not in experiments[source]["seeds"]:
        raise ConfigError(f"{where}.collect_seed={seed} is not a seed of experiment {source!r}")

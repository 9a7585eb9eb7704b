# pwm-bench: one DAG for every experiment in the config.
#   snakemake --cores all                                   (the embedded default, config.yaml)
#   snakemake --configfile workflow/configs/<paper>.yaml    (paper scale)
from pathlib import Path

from snakemake.utils import min_version

from pwm.strict_yaml import load_yaml_strict
from pwm.workflow_config import check_device, check_experiments, validate_config

min_version("9.0")


# snakemake --report report.html: this page opens the report; each figure has its own caption.
report: "workflow/report/workflow.rst"


# --configfile replaces the embedded default instead of being merged into it, so a paper config
# never inherits the default's experiments. config.yaml is read strictly first, because
# snakemake's own loader names no file, line or column for a YAML syntax error.
if not workflow.config_settings.configfiles:
    if Path("config.yaml").exists():
        load_yaml_strict("config.yaml")

    configfile: "config.yaml"


# Each config file re-read strictly (a duplicate key names file, line and column; snakemake keeps
# the last of two equal keys), then the schema in one-line errors (key path, bad value, allowed
# keys), then its defaults filled in. A --configfile with a YAML syntax error never gets here:
# snakemake's command line refuses it first ("Config file is not valid JSON or YAML"); `pwm-bench
# check-config FILE` runs these checks without snakemake and names file, line and column.
validate_config(config, workflow.config_settings.configfiles or ["config.yaml"], "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"


localrules:
    all,
    collect,
    aggregate,
    figures,
    import_published,
    compare_published,


rule all:
    input:
        lambda wc: [t for exp in config["experiments"] for t in experiment_targets(exp)],


include: "workflow/rules/algorithms.smk"
include: "workflow/rules/world_model.smk"
include: "workflow/rules/single_task_world_model.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/paper.smk"  # snakemake paper --config paper='{published_dir: ...}'


# Names are checked once every rule exists: an algorithm is allowed iff it has a train_ rule.
check_experiments(
    config, [r.name.removeprefix("train_") for r in workflow.rules if r.name.startswith("train_")], local_exec=False
)


# device: cuda on a machine without CUDA stops once before any job, when jobs run here (a dry
# run, or a cluster executor whose nodes have GPUs, is not stopped).
onstart:
    check_device(config, local_exec=workflow.local_exec and not workflow.remote_exec)

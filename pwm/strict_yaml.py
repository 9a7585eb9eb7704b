"""Strict YAML reading: a syntax error, a duplicate key or a byte that is not UTF-8 names the file,
line and column. Used for the workflow's config files (pwm.workflow_config, the Snakefile,
``pwm-bench check-config``) and for the algorithms' defaults files (pwm.hparams).

Only PyYAML and the standard library: reading a workflow config when Snakemake builds its DAG must not
import torch (pwm.config_io, which reads TD-MPC2's model configs, imports the world model).
"""

from __future__ import annotations

import re
from pathlib import Path

# YAML 1.1 (PyYAML) reads 1e-3 and 1.0e5 as strings; the defaults files are read as OmegaConf reads
# YAML (1e-3 is a float), since pwm.yaml and tdmpc2.yaml were OmegaConf files before pwm.hparams.
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


def load_yaml_strict(path: str | Path, yaml12_floats: bool = False):
    """A YAML file as plain data; a syntax error, a duplicate key or a byte that is not UTF-8 is a
    ValueError naming the file, line and column (PyYAML silently keeps the last of two equal keys,
    and snakemake's loader names neither file nor line). ``yaml12_floats``: read ``1e-3`` as a float
    (as OmegaConf and YAML 1.2 do), not as the string PyYAML's YAML 1.1 makes of it."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        pass

    if yaml12_floats:
        StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))

    def mapping(loader, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise ValueError(
                    f"{path}, line {key_node.start_mark.line + 1}, column {key_node.start_mark.column + 1}: "
                    f"duplicate key {key!r} (first at line {seen[key] + 1}); YAML would silently keep "
                    "only the last value"
                )
            seen[key] = key_node.start_mark.line
        return loader.construct_mapping(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:  # e.g. saved as Latin-1 by an editor
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ValueError(
            f"{path}, line {line}, column {column}: not UTF-8 text (byte {data[err.start]:#04x}); "
            "save the file as UTF-8"
        ) from None
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        started = ""
        if err.problem and err.context and err.context_mark and err.context_mark is not mark:
            c = err.context_mark  # where the construct the parser was reading began (an unclosed '[')
            started = f" ({err.context} that starts at line {c.line + 1}, column {c.column + 1})"
        raise ValueError(f"{where}: YAML syntax error: {err.problem or err.context}{started}") from None

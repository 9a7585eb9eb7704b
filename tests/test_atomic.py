"""Every file the project writes goes through pwm.atomic: a reader never sees half a file.

The source scan fails on a write call (``torch.save``, ``to_csv``, ``savefig``, ``write_text``,
``write_bytes``, ``open(..., "w")``) outside pwm/atomic.py unless it writes to the temporary path
of ``atomic.atomic_path``. Logs are the exception by design: they are appended to, never replaced.
"""

import ast
import os
import stat

from helpers import PROJECT_ROOT
from pwm import atomic

WRITE_METHODS = {"to_csv", "savefig", "write_text", "write_bytes"}
SOURCES = ["pwm", "baselines", "benchmarks"]


def _atomic_targets(tree: ast.AST) -> set[str]:
    """Names bound by ``with atomic_path(...) as NAME`` anywhere in the module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                func = getattr(call, "func", None)
                name = getattr(func, "attr", None) or getattr(func, "id", None)
                if name == "atomic_path" and isinstance(item.optional_vars, ast.Name):
                    names.add(item.optional_vars.id)
    return names


def _direct_writes(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    temps = _atomic_targets(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, args = node.func, node.args
        first = args[0] if args else None
        to_temp = isinstance(first, ast.Name) and first.id in temps
        if isinstance(func, ast.Attribute) and func.attr in WRITE_METHODS:
            receiver = func.value.id if isinstance(func.value, ast.Name) else None
            if not (to_temp or receiver in temps or receiver == "atomic"):  # atomic.write_text is the writer
                yield node.lineno, func.attr
        elif isinstance(func, ast.Attribute) and func.attr == "save" and getattr(func.value, "id", None) == "torch":
            if not to_temp:
                yield node.lineno, "torch.save"
        elif isinstance(func, ast.Name) and func.id == "open" and len(args) > 1:
            mode = args[1].value if isinstance(args[1], ast.Constant) else ""
            if any(c in str(mode) for c in "wx") and not to_temp:
                yield node.lineno, f"open(..., {mode!r})"


def test_no_write_bypasses_the_atomic_writer():
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}: {what}"
        for folder in SOURCES
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py"))
        if path != PROJECT_ROOT / "pwm" / "atomic.py"
        for line, what in _direct_writes(path)
    ]
    assert not offenders, "write through pwm.atomic (temp file + rename):\n" + "\n".join(offenders)


def test_create_new_creates_once_and_keeps_the_first_contents(tmp_path):
    path = tmp_path / "sub" / "key"
    assert atomic.create_new(path, b"first", mode=0o600) is True
    assert atomic.create_new(path, b"second", mode=0o600) is False
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["key"]  # no temporary file left


def test_the_signing_key_is_made_whole_once(tmp_path, monkeypatch):
    from pwm import signing

    key_file = tmp_path / "config" / "checkpoint.key"
    monkeypatch.setenv(signing.KEY_ENV, str(key_file))
    tag = signing.tag(b"payload")
    assert len(key_file.read_bytes()) == 32
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert signing.tag(b"payload") == tag  # the second call reads the same key

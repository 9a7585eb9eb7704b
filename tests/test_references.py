"""Citations stay inside the repository: no pointer to spec files a clone does not have, and every
``docs/reference-notes.md §N`` names a section that exists there."""

import re
import subprocess

from helpers import PROJECT_ROOT

NOTES = PROJECT_ROOT / "docs" / "reference-notes.md"
OUTSIDE = re.compile(r"\bspec/|\bspec [\w-]+\.md|shared/spec")
CITED = re.compile(r"§\s*(\d+(?:\.\d+)?)(?:\s*-\s*§?(\d+(?:\.\d+)?))?")


def tracked_text_files():
    names = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    for name in names.stdout.splitlines():
        path = PROJECT_ROOT / name
        if path.suffix in {".py", ".md", ".yaml", ".smk", ".rst", ".toml", ".txt"} or path.name == "Snakefile":
            if path.is_file():
                yield path


def note_sections() -> set[str]:
    text = NOTES.read_text(encoding="utf-8")
    return set(re.findall(r"^## (\d+)\.", text, re.M)) | set(re.findall(r"^- \*\*(\d+\.\d+)", text, re.M))


def test_nothing_cites_spec_files_outside_the_repository():
    here = PROJECT_ROOT / "tests" / "test_references.py"
    hits = [
        f"{path.relative_to(PROJECT_ROOT)}:{i}: {line.strip()}"
        for path in tracked_text_files()
        if path != here
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not hits, "cite docs/reference-notes.md (or state the fact) instead of spec files:\n" + "\n".join(hits)


def test_every_reference_notes_citation_names_a_section():
    sections = note_sections()
    assert {"1", "2.4", "3.4", "7.8", "8"} <= sections
    missing = []
    for path in tracked_text_files():
        if path == NOTES:
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "reference-notes" not in line and "reference notes" not in line:
                continue
            for first, last in CITED.findall(line):
                missing += [
                    f"{path.relative_to(PROJECT_ROOT)}:{i}: §{n}" for n in (first, last) if n and n not in sections
                ]
    assert not missing, "citations of sections docs/reference-notes.md does not have:\n" + "\n".join(missing)

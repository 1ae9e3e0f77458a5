"""docs/guarantees.md names a test for each of its promises, and each named test
exists: the document cannot promise what no test checks."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "guarantees.md").read_text()
REFERENCE = re.compile(r"`((?:\w+/)?test_\w+\.py)::(test_\w+)`")


def _section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def test_every_named_test_exists():
    references = REFERENCE.findall(DOC)
    assert len(references) >= 30
    for file, name in references:
        source = (ROOT / "tests" / file).read_text()
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{file}::{name}"


def test_every_check_and_every_guarantee_names_a_test():
    rows = [
        line
        for line in _section("Validated at the boundaries").splitlines()
        if line.startswith("| ")
        and not line.startswith(("| where", "| exit status", "| ---"))
        and not re.match(r"\| \d+ \|", line)
    ]
    bullets = re.split(r"\n- ", _section("Guarantees"))[1:]
    assert len(rows) >= 10 and len(bullets) >= 10
    for item in rows + bullets:
        assert REFERENCE.search(item), item[:80]

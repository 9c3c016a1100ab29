"""The layout a new maintainer reads: the package table of docs/architecture.md matches the
code, modules stay a size one person can hold, and ``__init__.py`` files only re-export."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "needle"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
#: STYLE.md: "modules under ~700 lines"; "__init__.py only re-exports"
MAX_MODULE_LINES = 700
MAX_INIT_CODE_LINES = 80


def _documented_packages() -> list[str]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    table = text[text.index("## Packages") :]
    return re.findall(r"^\| `(needle\.[a-z_]+)` \|", table, flags=re.MULTILINE)


def _code_lines(path: Path) -> int:
    """Lines that are neither blank, comments, nor docstrings."""
    source = path.read_text(encoding="utf-8")
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(value.lineno, (value.end_lineno or value.lineno) + 1))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    )


def test_the_package_table_names_every_package_and_each_imports() -> None:
    documented = _documented_packages()
    assert documented, "docs/architecture.md has a package table"
    on_disk = sorted(f"needle.{p.name}" for p in SRC.iterdir() if (p / "__init__.py").is_file())
    assert sorted(documented) == on_disk
    for name in documented:
        importlib.import_module(name)


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_are_a_size_one_person_can_hold(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(SRC)}: {lines} lines"
    if path.name == "__init__.py":
        code = _code_lines(path)
        assert code <= MAX_INIT_CODE_LINES, f"{path.relative_to(SRC)}: {code} lines of code"

"""The suite's own layout: test files share code only through ``tests/helpers`` (fixtures come
from conftest.py by name), so any one test file can be moved, run or deleted on its own."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (``from a.b import c`` -> ``a``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_test_file_imports_conftest_or_another_test_file() -> None:
    test_modules = {p.stem for p in TESTS.glob("test_*.py")} | {"conftest"}
    offenders = {
        p.name: sorted(imported_modules(p) & test_modules)
        for p in sorted(TESTS.glob("*.py"))
        if imported_modules(p) & test_modules
    }
    assert not offenders, f"import shared code from tests/helpers instead: {offenders}"


def test_the_check_sees_both_kinds_of_import(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import conftest\nfrom test_tagger import write_conll\nfrom helpers.tiny import tiny_setup\n"
    )
    assert imported_modules(probe) == {"conftest", "test_tagger", "helpers"}

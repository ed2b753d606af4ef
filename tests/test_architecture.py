"""Project rules that code review alone would let slip."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lstm_apps"
RECURRENT_LAYER = re.compile(r"\bnn\.(LSTM|GRU|RNN|LSTMCell|GRUCell|RNNCell)\b|\btorch\.nn\.(LSTM|GRU|RNN)\b")


def test_recurrent_layers_are_created_only_by_the_core_block() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        if path.name != "recurrent.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if RECURRENT_LAYER.search(line)
    ]
    assert not offenders, f"recurrent layers outside core/recurrent.py: {offenders}"


def test_torchtext_is_not_used() -> None:
    importing = re.compile(r"^\s*(import|from)\s+torchtext\b", re.MULTILINE)
    uses = [p for p in SRC.rglob("*.py") if importing.search(p.read_text())]
    assert not uses


# Each package may import only from packages of a lower layer (or its own): the core knows nothing
# of text or data, the pipeline nothing of callbacks or particular apps, and only the command line
# knows the CLI.
LAYERS = {
    "errors": 0,
    "paths": 0,
    "extras": 0,
    "folders": 0,
    "bounds": 0,
    "registry": 0,
    "core": 1,
    "text": 2,
    "data": 2,
    "plots": 2,
    "config_ranges": 2,
    "inspection": 2,
    "pipeline": 3,
    "diagnostics": 4,
    "callbacks": 4,
    "serving": 4,
    "apps": 5,
    "cli": 6,
}


def _imported_packages(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found += [(node.lineno, n.split(".")[1]) for n in names if n.startswith("lstm_apps.")]
    return found


def test_no_package_imports_from_a_higher_layer() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        own = path.relative_to(SRC).parts[0].removesuffix(".py")
        if own not in LAYERS:
            continue
        for line, package in _imported_packages(path):
            if LAYERS.get(package, 0) > LAYERS[own]:
                offenders.append(f"{path.relative_to(SRC)}:{line} imports lstm_apps.{package}")
    assert not offenders, offenders


def test_every_package_has_a_layer() -> None:
    packages = {p.name.removesuffix(".py") for p in SRC.iterdir() if p.name != "__init__.py"}
    packages -= {"__pycache__"}
    assert packages <= set(LAYERS), packages - set(LAYERS)


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        own = path.relative_to(SRC).parts[0].removesuffix(".py")
        if own in LAYERS:
            graph.setdefault(own, set()).update(p for _, p in _imported_packages(path) if p != own)
    return graph


def test_no_two_packages_import_each_other_in_a_cycle() -> None:
    """Packages of one layer may use each other, but never round in a circle."""
    graph = _package_graph()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for neighbour in sorted(graph.get(node, ())):
            if neighbour == path[0]:
                cycles.append(" -> ".join([*path, neighbour]))
            elif neighbour not in path and neighbour > path[0]:
                visit(neighbour, [*path, neighbour])

    for start in sorted(graph):
        visit(start, [start])
    assert not cycles, cycles


def test_no_module_below_the_apps_imports_one_by_name() -> None:
    """An import by string (``import_module(f"lstm_apps.apps.{app}…")``) is invisible to the layer
    check above; below the apps, modules find what apps provide through the registry, which is
    the one module that imports apps by the names it finds (their folders and entry points)."""
    calls = re.compile(r"\bimport_module\(|__import__\(")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if LAYERS.get(path.relative_to(SRC).parts[0].removesuffix(".py"), 0) < LAYERS["apps"]
        and path.name != "registry.py"
        and calls.search(path.read_text())
    ]
    assert not offenders, offenders


def test_each_app_package_declares_itself_and_its_parts_load() -> None:
    """An app is its folder: each package under ``apps/`` declares ``APP`` (its name is the
    folder's), and the predictor, endpoints and playground form it names are there."""
    from lstm_apps.pipeline.predictor import Predictor, predictor_for
    from lstm_apps.registry import apps
    from lstm_apps.serving.server import endpoints_for, playground_script

    packages = sorted(p.name for p in (SRC / "apps").iterdir() if (p / "__init__.py").is_file())
    assert sorted(apps()) == packages
    for name, spec in apps().items():
        assert spec.package == f"lstm_apps.apps.{name}" and spec.folder == SRC / "apps" / name
        assert issubclass(predictor_for(name), Predictor) and endpoints_for(name), name
        assert playground_script(name).is_file(), name


def test_no_shared_module_or_test_lists_the_apps_by_name() -> None:
    """Files outside an app's own that name three or more apps as string literals: only the
    tests of a behaviour across particular apps (the sentence apps' shared store, a language model
    carried into the classifier, tagger and translator)."""
    from lstm_apps.registry import apps

    names = list(apps())
    root = SRC.parents[1]
    files = [
        *(root / "src").rglob("*.py"),
        *(root / "bench").rglob("*.py"),
        *(root / "tests").rglob("*.py"),
        *(root / "docs").glob("**/*.py"),
        root / "Makefile",
    ]
    naming = sorted(
        str(path.relative_to(root))
        for path in files
        if not path.is_relative_to(SRC / "apps")
        and sum(bool(re.search(rf"""(["']){name}\1""", path.read_text())) for name in names) >= 3
    )
    assert naming == [
        "bench/finetune/make_corpora.py",
        "tests/test_prepared_records.py",
    ], naming

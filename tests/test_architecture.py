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
# of text or data, the pipeline nothing of particular apps, and only the command line knows the CLI.
LAYERS = {
    "errors": 0,
    "paths": 0,
    "extras": 0,
    "folders": 0,
    "bounds": 0,
    "core": 1,
    "text": 2,
    "data": 2,
    "plots": 2,
    "config_ranges": 2,
    "pipeline": 3,
    "callbacks": 3,
    "diagnostics": 3,
    "apps": 4,
    "cli": 5,
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

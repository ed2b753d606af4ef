"""Project rules that code review alone would let slip."""

from __future__ import annotations

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

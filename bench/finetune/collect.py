"""Tabulates the runs of ``bench/finetune/run.sh`` (their ``metrics.json``) as the markdown tables
of docs/results.md: mean ± spread (half the range) over seeds, and each seed's value.

Usage: ``python bench/finetune/collect.py $LSTM_APPS_ROOT/runs/finetune``
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

SEED = re.compile(r"^(?P<name>.+)_s(?P<seed>\d+)$")


def read(runs: Path) -> dict[str, dict[int, dict[str, float]]]:
    """condition -> seed -> metrics, for every finished run."""
    found: dict[str, dict[int, dict[str, float]]] = defaultdict(dict)
    for metrics in sorted(runs.glob("*/metrics.json")):
        match = SEED.match(metrics.parent.name)
        if match is None:
            continue
        summary = json.loads(metrics.read_text())
        found[match["name"]][int(match["seed"])] = summary.get("metrics", summary)
    return found


def cell(values: list[float], scale: float, digits: int) -> str:
    if not values:
        return "—"
    mean = sum(values) / len(values)
    spread = (max(values) - min(values)) / 2
    each = ", ".join(f"{v * scale:.{digits}f}" for v in values)
    return f"{mean * scale:.{digits}f} ± {spread * scale:.{digits}f} ({each})"


def values(runs: dict[int, dict[str, float]], key: str) -> list[float]:
    return [runs[seed][key] for seed in sorted(runs) if key in runs[seed]]


def main() -> None:
    found = read(Path(sys.argv[1]))
    print("| labelled rows | from scratch | from the LM pair | LM pair + gradual unfreezing, lr_decay 2.6 |")
    print("|---|---|---|---|")
    for pct, rows in (("1", "573 (1 %)"), ("10", "5,735 (10 %)"), ("100", "57,347 (100 %)")):
        cells = [
            cell(values(found[f"sst2_{pct}pct_{kind}"], "test/acc"), 100, 1)
            for kind in ("scratch", "lm", "lm_ulmfit")
        ]
        print(f"| {rows} | " + " | ".join(cells) + " |")
    print()
    table(
        found,
        "tagger",
        ("test F1", "best val F1"),
        ("test/f1", "best/val/f1"),
        100,
        1,
        {"scratch": "from scratch", "lm": "from the Spanish LM pair"},
    )
    print()
    table(
        found,
        "captions",
        ("val nats/char at the last validation", "best"),
        ("val/loss", "best/val/loss"),
        1,
        3,
        {"scratch": "from scratch", "from_shakespeare": "from the tiny-shakespeare LM"},
    )


def table(
    found: dict[str, dict[int, dict[str, float]]],
    prefix: str,
    headers: tuple[str, ...],
    keys: tuple[str, ...],
    scale: float,
    digits: int,
    kinds: dict[str, str],
) -> None:
    """One row per condition ``<prefix>_<kind>``, one column per metric key."""
    print(f"| {prefix} | " + " | ".join(headers) + " |")
    print("|---" * (len(headers) + 1) + "|")
    for kind, label in kinds.items():
        runs = found[f"{prefix}_{kind}"]
        print(f"| {label} | " + " | ".join(cell(values(runs, key), scale, digits) for key in keys) + " |")


if __name__ == "__main__":
    main()

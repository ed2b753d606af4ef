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
        found[match["name"]][int(match["seed"])] = json.loads(metrics.read_text())
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
    print("| tagger | test F1 | best val F1 |")
    print("|---|---|---|")
    for kind, label in (("scratch", "from scratch"), ("lm", "from the Spanish LM pair")):
        runs = found[f"tagger_{kind}"]
        print(
            f"| {label} | {cell(values(runs, 'test/f1'), 100, 1)} | {cell(values(runs, 'best/val/f1'), 100, 1)} |"
        )
    print()
    print("| captions LM | val nats/char at the last validation | best |")
    print("|---|---|---|")
    for kind, label in (("scratch", "from scratch"), ("from_shakespeare", "from the tiny-shakespeare LM")):
        runs = found[f"captions_{kind}"]
        print(
            f"| {label} | {cell(values(runs, 'val/loss'), 1, 3)} | {cell(values(runs, 'best/val/loss'), 1, 3)} |"
        )


if __name__ == "__main__":
    main()

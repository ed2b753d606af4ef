"""Fetch JSB Chorales with Boulanger-Lewandowski et al. (2012)'s split into data/music/jsb_chorales/.

    lstm-apps prepare music jsb_chorales --base-url file:///path/to/jsb_chorales

Two JSON files, ``{"train"|"valid"|"test": [piece: [time step: [MIDI pitches 21-108]]]}``: the
benchmark's quarter-note grid (``jsb-chorales-quarter.json``) and sixteenths
(``jsb-chorales-16th.json``). Each is checked as it arrives (every split present, every pitch on
the keyboard). ``--base-url`` fetches from a mirror or a ``file://`` folder holding those names.
"""

from __future__ import annotations

from pathlib import Path

from lstm_apps.apps.music.piano_roll import read_jsb_json
from lstm_apps.data.download import fetch
from lstm_apps.errors import UserError

DATASETS = {"jsb_chorales": "JSB Chorales, 229/76/77 pieces, quarter-note and sixteenth grids (JSON)"}
BASE_URL = "https://raw.githubusercontent.com/czhuang/JSB-Chorales-dataset/master"
FILES = {"quarter": "jsb-chorales-quarter.json", "16th": "jsb-chorales-16th.json"}


def prepare(name: str, out_dir: Path, base_url: str | None = None) -> dict[str, Path]:
    """Fetch and check both grids; return ``{"quarter": path, "16th": path}``."""
    if name not in DATASETS:
        raise UserError(f"unknown data set '{name}' (available: {', '.join(DATASETS)})")
    base = (base_url or BASE_URL).rstrip("/")
    written: dict[str, Path] = {}
    for grid, filename in FILES.items():
        path = fetch(f"{base}/{filename}", out_dir / name / filename)
        read_jsb_json(path)  # one line naming the file and the piece if it is not the benchmark's
        written[grid] = path
    return written

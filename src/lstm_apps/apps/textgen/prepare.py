"""Fetch a public corpus into data/textgen/<name>/{train,val,test}.txt for the text generator.

    lstm-apps prepare textgen tinyshakespeare      # Karpathy's char-rnn corpus (1.1 MB)
    lstm-apps prepare textgen tinyshakespeare_nanogpt   # the same text, split as nanoGPT splits it
    lstm-apps prepare textgen wikitext2            # WikiText-2 as in pytorch/examples

Then train with the matching recipe, e.g. ``lstm-apps train experiment=textgen_shakespeare``.
``--base-url`` points at a mirror (or a ``file://`` folder holding the same file names).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from lstm_apps.data.download import fetch, split_lines
from lstm_apps.errors import UserError

DATASETS = {
    "tinyshakespeare": "Karpathy's char-rnn corpus (1.1 MB), split 90/5/5 on line boundaries",
    "tinyshakespeare_nanogpt": "the same, split as nanoGPT: first 90 % of characters train, last 10 % val (= test)",
    "wikitext2": "WikiText-2 train/valid/test as in pytorch/examples",
}


class Source(TypedDict):
    base_url: str
    files: dict[str, str | None]  # file name -> the split it is; None: split it here
    split: str  # how a file marked None is split: "lines" (90/5/5) or "nanogpt"


SOURCES: dict[str, Source] = {
    "tinyshakespeare": {
        "base_url": "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare",
        "files": {"input.txt": None},  # one file, split here 90/5/5 on line boundaries
        "split": "lines",
    },
    "tinyshakespeare_nanogpt": {
        "base_url": "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare",
        "files": {"input.txt": None},
        "split": "nanogpt",
    },
    "wikitext2": {
        "base_url": "https://raw.githubusercontent.com/pytorch/examples/main/word_language_model/data/wikitext-2",
        "files": {"train.txt": "train", "valid.txt": "val", "test.txt": "test"},
        "split": "lines",
    },
}


def nanogpt_split(text: str) -> dict[str, str]:
    """nanoGPT's ``data/shakespeare_char/prepare.py``: the first ``int(0.9 * len)`` characters
    train, the rest validation; it has no test split, so test is the validation text."""
    cut = int(len(text) * 0.9)
    return {"train": text[:cut], "val": text[cut:], "test": text[cut:]}


def prepare(name: str, out_dir: Path, base_url: str | None = None) -> dict[str, Path]:
    """Download ``name`` and write ``out_dir/<name>/{train,val,test}.txt``; return those paths."""
    if name not in SOURCES:
        raise UserError(f"unknown corpus '{name}' (available: {', '.join(SOURCES)})")
    source = SOURCES[name]
    base = (base_url or source["base_url"]).rstrip("/")
    target = out_dir / name
    raw = target / "raw"
    written: dict[str, Path] = {}
    for filename, split in source["files"].items():
        downloaded = fetch(f"{base}/{filename}", raw / filename)
        text = downloaded.read_text(encoding="utf-8")
        if split:
            parts = {split: text}
        elif source["split"] == "nanogpt":
            parts = nanogpt_split(text)
        else:
            parts = split_lines(text, val_fraction=0.05, test_fraction=0.05)
        for part, content in parts.items():
            path = target / f"{part}.txt"
            path.write_text(content, encoding="utf-8", newline="")
            written[part] = path
    return written

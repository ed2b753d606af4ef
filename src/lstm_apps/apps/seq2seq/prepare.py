"""Fetch Multi30k (task 1, de-en) into data/seq2seq/multi30k/{train,val,test_2016_flickr}.{de,en}.

    lstm-apps prepare seq2seq multi30k
    lstm-apps train app=seq2seq experiment=seq2seq_multi30k

The files are the gzipped, line-aligned originals of the Multi30k repository; they are
decompressed into the ``aligned`` layout the seq2seq reader takes (``format=aligned``).
``--base-url`` fetches from a mirror or a ``file://`` folder holding the same ``*.gz`` names.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import TypedDict

from lstm_apps.data.download import fetch
from lstm_apps.errors import UserError

DATASETS = {"multi30k": "Multi30k task 1, German-English, as aligned .de/.en files"}


class Source(TypedDict):
    base_url: str
    splits: tuple[str, ...]
    languages: tuple[str, ...]


SOURCES: dict[str, Source] = {
    "multi30k": {
        "base_url": "https://raw.githubusercontent.com/multi30k/dataset/master/data/task1/raw",
        "splits": ("train", "val", "test_2016_flickr"),
        "languages": ("de", "en"),
    }
}


def prepare(name: str, out_dir: Path, base_url: str | None = None) -> dict[str, Path]:
    """Download and decompress every split and language; return ``{"train.de": path, …}``."""
    if name not in SOURCES:
        raise UserError(f"unknown corpus '{name}' (available: {', '.join(SOURCES)})")
    source = SOURCES[name]
    base = (base_url or source["base_url"]).rstrip("/")
    target = out_dir / name
    written: dict[str, Path] = {}
    for split in source["splits"]:
        for language in source["languages"]:
            filename = f"{split}.{language}"
            archive = fetch(f"{base}/{filename}.gz", target / "raw" / f"{filename}.gz")
            try:
                text = gzip.decompress(archive.read_bytes()).decode("utf-8")
            except (OSError, EOFError, UnicodeDecodeError) as err:
                raise UserError(f"{archive}: not a gzipped UTF-8 text file ({err})") from None
            path = target / filename
            path.write_text(text, encoding="utf-8")
            written[filename] = path
    return written

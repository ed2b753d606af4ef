"""Arrange CoNLL-2003 (English) or CoNLL-2002 (Spanish, Dutch) NER data as
data/tagger/<corpus>/{train,val,test}.txt for ``data/corpus=conll_files``.

    lstm-apps prepare tagger conll2003 [--base-url file:///path/to/your/conll2003]
    lstm-apps train experiment=tagger_conll03

- ``conll2003``: ``eng.train``, ``eng.testa`` (dev) and ``eng.testb`` (test), the original
  four-column IOB1 files. The Reuters text is licensed: point ``--base-url`` at your own copy (a
  folder as ``file://`` URL, or a mirror); the default is a public mirror of the shared-task files.
- ``conll2002_es`` / ``conll2002_nl``: ``conll2002.zip`` of the NLTK data collection (Latin-1
  files ``esp.*`` / ``ned.*``, IOB2), converted to UTF-8.

Every written file is read back with the tagger's CoNLL reader, so a bad download fails here.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TypedDict

from lstm_apps.apps.tagger.conll import read_conll
from lstm_apps.data.download import fetch
from lstm_apps.data.files import write_text_atomically
from lstm_apps.errors import UserError

DATASETS = {
    "conll2003": "CoNLL-2003 English NER (IOB1; licensed text: point --base-url at your copy)",
    "conll2002_es": "CoNLL-2002 Spanish NER from the NLTK data collection",
    "conll2002_nl": "CoNLL-2002 Dutch NER from the NLTK data collection",
}
SPLITS = ("train", "val", "test")


class _Source(TypedDict):
    base_url: str
    files: tuple[str, str, str]  # train, val, test
    scheme: str


class Source(_Source, total=False):
    archive: str  # the files are members of this zip archive


SOURCES: dict[str, Source] = {
    "conll2003": {
        "base_url": "https://raw.githubusercontent.com/synalp/NER/master/corpus/CoNLL-2003",
        "files": ("eng.train", "eng.testa", "eng.testb"),
        "scheme": "iob1",
    },
    "conll2002_es": {
        "base_url": "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora",
        "archive": "conll2002.zip",
        "files": ("conll2002/esp.train", "conll2002/esp.testa", "conll2002/esp.testb"),
        "scheme": "iob2",
    },
    "conll2002_nl": {
        "base_url": "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora",
        "archive": "conll2002.zip",
        "files": ("conll2002/ned.train", "conll2002/ned.testa", "conll2002/ned.testb"),
        "scheme": "iob2",
    },
}


def _texts(name: str, target: Path, base: str) -> list[str]:
    source = SOURCES[name]
    if "archive" not in source:
        texts = []
        for filename in source["files"]:
            raw = fetch(f"{base}/{filename}", target / "raw" / filename).read_bytes()
            try:
                texts.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(raw.decode("latin-1"))
        return texts
    archive = fetch(f"{base}/{source['archive']}", target / "raw" / source["archive"])
    try:
        with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as bundle:
            return [bundle.read(member).decode("latin-1") for member in source["files"]]
    except (zipfile.BadZipFile, KeyError) as err:
        raise UserError(f"{archive}: not the expected zip archive ({err})") from None


def prepare(name: str, out_dir: Path, base_url: str | None = None) -> dict[str, Path]:
    """Fetch and arrange ``name``; return ``{"train": path, "val": path, "test": path}``."""
    if name not in SOURCES:
        raise UserError(f"unknown corpus '{name}' (available: {', '.join(SOURCES)})")
    target = out_dir / name
    base = (base_url or SOURCES[name]["base_url"]).rstrip("/")
    written = {}
    for split, text in zip(SPLITS, _texts(name, target, base), strict=True):
        path = target / f"{split}.txt"
        write_text_atomically(path, text)
        read_conll(path, f"{name}.{split}", scheme=SOURCES[name]["scheme"])
        written[split] = path
    return written

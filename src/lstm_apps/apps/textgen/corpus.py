"""Text corpora as train/val/test strings: the embedded default and the user's own files."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lstm_apps.bounds import Fraction, Seed
from lstm_apps.data.files import SPLITS, read_text_file
from lstm_apps.errors import UserError


class PydocCorpus:
    """The English documentation topics that ship with CPython (``pydoc_data.topics``).

    Topics (not characters) are assigned to splits with a seeded shuffle, so no topic leaks from
    train into val/test and every machine gets the same split.
    """

    def __init__(self, val_fraction: Fraction = 0.06, test_fraction: Fraction = 0.06, seed: Seed = 0) -> None:
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.seed = seed

    def topic_splits(self) -> dict[str, list[str]]:
        """Topic names per split: test and val take whole topics until they hold their share."""
        from pydoc_data.topics import topics

        names = sorted(topics)
        random.Random(self.seed).shuffle(names)
        total = sum(len(topics[n]) for n in names)
        budget = {"test": self.test_fraction * total, "val": self.val_fraction * total}
        used = dict.fromkeys(budget, 0)
        splits: dict[str, list[str]] = {s: [] for s in SPLITS}
        for name in names:
            split = next((s for s in ("test", "val") if used[s] < budget[s]), "train")
            splits[split].append(name)
            if split in used:
                used[split] += len(topics[name])
        return splits

    def load(self) -> dict[str, str]:
        from pydoc_data.topics import topics

        return {
            split: "".join(topics[name].strip() + "\n\n" for name in names)
            for split, names in self.topic_splits().items()
        }

    def identity(self) -> dict[str, Any]:
        """What the text depends on: the split settings and the interpreter that ships the topics."""
        return {
            "corpus": "pydoc",
            "python": sys.version,
            "fractions": [self.val_fraction, self.test_fraction],
            "seed": self.seed,
        }

    def chunks(self, split: str) -> Iterator[str]:
        yield self.load()[split]  # a few MB: one chunk


class TextFiles:
    """Plain UTF-8 text files, one per split (e.g. WikiText's ``train/valid/test``)."""

    def __init__(self, train: str, val: str, test: str | None = None, key: str = "data.corpus") -> None:
        self.paths = {"train": train, "val": val, "test": test}
        self.key = key

    def load(self) -> dict[str, str]:
        texts: dict[str, str] = {}
        for split, path in self.paths.items():
            if path is None:
                continue
            texts[split] = read_text_file(path, key=f"{self.key}.{split}")
        if "test" not in texts:
            texts["test"] = texts["val"]
        return texts

    def _path(self, split: str) -> tuple[str, str]:
        """The file ``split`` reads (test falls back to val) and the config key naming it."""
        if split == "test" and self.paths["test"] is None:
            split = "val"
        path = self.paths[split]
        if path is None:
            raise UserError(f"{self.key}.{split}: no file given")
        return path, f"{self.key}.{split}"

    def identity(self) -> dict[str, Any]:
        """Each split's file by path, size and modification time (see ``prepared.file_identity``)."""
        from lstm_apps.data.prepared.store import file_identity

        identity: dict[str, Any] = {"corpus": "text_files"}
        for split in SPLITS:
            path, key = self._path(split)
            if not Path(path).expanduser().is_file():
                read_text_file(path, key)  # the one-line error naming the key and file
            identity[split] = file_identity(path)
        return identity

    def chunks(self, split: str) -> Iterator[str]:
        """The split's file in chunks that end at a line break: never the whole file at once."""
        from lstm_apps.text.chunked import read_chunks

        path, key = self._path(split)
        return read_chunks(path, key)

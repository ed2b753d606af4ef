"""Text corpora as train/val/test strings: the embedded default and the user's own files."""

from __future__ import annotations

import random
from pathlib import Path

from lstm_apps.errors import UserError

SPLITS = ("train", "val", "test")


class PydocCorpus:
    """The English documentation topics that ship with CPython (``pydoc_data.topics``).

    Topics (not characters) are assigned to splits with a seeded shuffle, so no topic leaks from
    train into val/test and every machine gets the same split.
    """

    def __init__(self, val_fraction: float = 0.06, test_fraction: float = 0.06, seed: int = 0) -> None:
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


def read_text_file(path: str | Path, key: str) -> str:
    """Read a corpus file, turning every way it can be wrong into one line naming it."""
    file = Path(path).expanduser()
    if not file.exists():
        raise UserError(f"{key}: file not found: {file}")
    if file.is_dir():
        raise UserError(f"{key}: expected a text file, got a directory: {file}")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise UserError(f"{key}: {file} is not UTF-8 text (byte {err.start})") from None
    if not text.strip():
        raise UserError(f"{key}: file is empty: {file}")
    return text


def write_text_atomically(path: str | Path, text: str) -> None:
    """Write via a temporary name and rename, so a killed run never leaves half a file behind."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(target)

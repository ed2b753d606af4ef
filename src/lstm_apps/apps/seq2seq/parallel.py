"""Parallel text (source -> target) from the two layouts people ship it in, with file:line errors.

- TSV: ``source<TAB>target`` per line.
- Aligned files: ``<prefix>.<src_lang>`` and ``<prefix>.<tgt_lang>``, line i of one translating
  line i of the other (Multi30k, IWSLT, WMT after extraction).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any, Literal

from lstm_apps.apps.seq2seq.dates import generate_splits
from lstm_apps.bounds import Positive, Seed
from lstm_apps.data.files import write_text_atomically
from lstm_apps.data.prepared.store import files_identity
from lstm_apps.data.publish import publish_directory
from lstm_apps.errors import UserError
from lstm_apps.text.chunked import read_lines

Pairs = list[tuple[str, str]]


def iter_tsv(path: str | Path, key: str) -> Iterator[tuple[str, str]]:
    """Pairs read one line at a time; every non-blank line must hold exactly two
    tab-separated, non-empty columns."""
    found = 0
    for number, line in enumerate(read_lines(path, key), 1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) != 2:
            raise UserError(
                f"{path}:{number}: expected 2 tab-separated columns (source, target), found {len(columns)}"
            )
        source, target = (c.strip() for c in columns)
        if not source or not target:
            raise UserError(f"{path}:{number}: empty {'source' if not source else 'target'} column")
        found += 1
        yield source, target
    if not found:
        raise UserError(f"{key}: no sentence pairs in {path}")


def iter_aligned(source_path: str | Path, target_path: str | Path, key: str) -> Iterator[tuple[str, str]]:
    """Two line-aligned files read side by side; their line counts must match and no line may
    be blank."""
    sources, targets = read_lines(source_path, key), read_lines(target_path, key)
    number = 0
    for number, pair in enumerate(zip_longest(sources, targets), 1):
        source, target = pair
        if source is None or target is None:
            rest = sum(1 for _ in (targets if source is None else sources))
            counts = (number - 1, number + rest) if source is None else (number + rest, number - 1)
            raise UserError(
                f"{key}: {source_path} has {counts[0]} lines but {target_path} has {counts[1]} "
                "(aligned files must have one line per sentence pair)"
            )
        if not source.strip():
            raise UserError(f"{source_path}:{number}: empty line (its pair is '{target[:40]}')")
        if not target.strip():
            raise UserError(f"{target_path}:{number}: empty line (its pair is '{source[:40]}')")
        yield source.strip(), target.strip()


def read_tsv(path: str | Path, key: str) -> Pairs:
    """Every pair of a TSV file (see ``iter_tsv``)."""
    return list(iter_tsv(path, key))


def read_aligned(source_path: str | Path, target_path: str | Path, key: str) -> Pairs:
    """Every pair of two line-aligned files (see ``iter_aligned``)."""
    return list(iter_aligned(source_path, target_path, key))


class ParallelFiles:
    """User data: ``format=tsv`` (``train=path.tsv``) or ``format=aligned`` (``train=data/train``
    with ``src_lang``/``tgt_lang`` suffixes). ``test`` defaults to ``val``."""

    def __init__(
        self,
        train: str,
        val: str,
        test: str | None = None,
        format: Literal["tsv", "aligned"] = "tsv",
        src_lang: str = "src",
        tgt_lang: str = "tgt",
        key: str = "data.corpus",
    ) -> None:
        self.paths = {"train": train, "val": val, "test": test or val}
        self.format, self.src_lang, self.tgt_lang, self.key = format, src_lang, tgt_lang, key

    def identity(self) -> dict[str, Any]:
        """The files by path, size and modification time, and how they are read."""
        if self.format == "tsv":
            files = dict(self.paths)
        else:
            files = {
                f"{split}.{lang}": f"{path}.{lang}"
                for split, path in self.paths.items()
                for lang in (self.src_lang, self.tgt_lang)
            }
        return files_identity("parallel_files", files, format=self.format)

    def records(self, split: str) -> Iterator[tuple[str, str]]:
        """The pairs of ``split``, read one line at a time."""
        path, key = self.paths[split], f"{self.key}.{split}"
        if self.format == "tsv":
            return iter_tsv(path, key)
        return iter_aligned(f"{path}.{self.src_lang}", f"{path}.{self.tgt_lang}", key)

    def load(self) -> dict[str, Pairs]:
        return {split: list(self.records(split)) for split in self.paths}


class DateCorpus:
    """The embedded default: generated once into ``directory`` as TSV, then read like user data."""

    def __init__(
        self,
        directory: str,
        train_size: Positive = 30000,
        val_size: Positive = 1000,
        test_size: Positive = 1000,
        seed: Seed = 0,
    ) -> None:
        self.directory = Path(directory)
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.seed = seed

    def files(self) -> dict[str, Path]:
        tag = f"seed{self.seed}-{self.sizes['train']}-{self.sizes['val']}-{self.sizes['test']}"
        return {split: self.directory / tag / f"{split}.tsv" for split in self.sizes}

    def prepare(self) -> None:
        """Generate the files unless present (``prepare_data()``; safe in several processes at once)."""
        files = self.files()
        publish_directory(files["train"].parent, self._write, files.values())

    def _write(self, folder: Path) -> None:
        splits = generate_splits(self.sizes["train"], self.sizes["val"], self.sizes["test"], self.seed)
        for split, pairs in splits.items():
            write_text_atomically(folder / f"{split}.tsv", "".join(f"{s}\t{t}\n" for s, t in pairs))

    def identity(self) -> dict[str, Any]:
        return files_identity("dates", self.files())

    def records(self, split: str) -> Iterator[tuple[str, str]]:
        self.prepare()  # reads only, once prepare_data() has run
        return iter_tsv(self.files()[split], f"data.corpus.{split}")

    def load(self) -> dict[str, Pairs]:
        return {split: list(self.records(split)) for split in self.sizes}

"""The embedded classification task: docstrings of the Python standard library, labelled by the
top-level package they come from (``asyncio``, ``email``, ``logging``, ``unittest`` …).

Real text, no download: the modules are parsed (never imported) from the interpreter's own
``Lib/`` folder. Module, class and function docstrings of at least ``min_chars`` characters are
kept; a text found in several places is kept once, and dropped when two packages share it.
Packages with fewer than ``min_examples`` docstrings are left out, the ``test`` suites too. Each
package's examples are split train/val/test with a seeded shuffle (stratified, deterministic),
written once as JSONL and read back by the same reader as user data. The result depends on the
Python version: the file names carry it.
"""

from __future__ import annotations

import ast
import random
import sys
import sysconfig
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lstm_apps.apps.classifier.labelled_text import LabelledText, format_jsonl, stream_labelled_texts
from lstm_apps.bounds import Count, Fraction, Positive, Seed
from lstm_apps.data.files import write_text_atomically
from lstm_apps.data.prepared.store import files_identity
from lstm_apps.data.publish import publish_directory

GENERATOR_VERSION = 1
EXCLUDED = {"test", "tests", "idlelib", "lib2to3", "site-packages", "turtledemo", "pydoc_data"}


def stdlib_docstrings(min_chars: int = 30) -> dict[str, list[tuple[str, str]]]:
    """``{package: [(qualified name, docstring), …]}`` for every package of the standard library."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for file in sorted(root.rglob("*.py")):
        parts = file.relative_to(root).parts
        if len(parts) < 2 or EXCLUDED & set(parts):
            continue
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        module = ".".join(file.relative_to(root).with_suffix("").parts)
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= min_chars:
                    name = module if isinstance(node, ast.Module) else f"{module}.{node.name}"
                    found[parts[0]].append((name, doc))
    return dict(found)


def unique_examples(found: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
    """One copy of each docstring; docstrings shared by two packages are ambiguous and dropped."""
    owners: dict[str, set[str]] = defaultdict(set)
    for package, docs in found.items():
        for _, doc in docs:
            owners[doc].add(package)
    kept: dict[str, list[str]] = defaultdict(list)
    for package, docs in found.items():
        seen = set()
        for _, doc in docs:
            if len(owners[doc]) == 1 and doc not in seen:
                seen.add(doc)
                kept[package].append(doc)
    return dict(kept)


class StdlibDocstrings:
    """Written once into ``directory`` as ``{train,val,test}.jsonl``, then read back."""

    def __init__(
        self,
        directory: str,
        min_examples: Positive = 40,
        min_chars: Count = 30,
        val_fraction: Fraction = 0.15,
        test_fraction: Fraction = 0.15,
        seed: Seed = 0,
    ) -> None:
        self.directory = Path(directory)
        self.min_examples, self.min_chars = min_examples, min_chars
        self.fractions = {"val": val_fraction, "test": test_fraction}
        self.seed = seed

    def files(self) -> dict[str, Path]:
        python = f"py{sys.version_info.major}{sys.version_info.minor}"
        tag = (
            f"v{GENERATOR_VERSION}-{python}-min{self.min_examples}-chars{self.min_chars}-"
            f"val{self.fractions['val']}-test{self.fractions['test']}-seed{self.seed}"
        )
        return {split: self.directory / tag / f"{split}.jsonl" for split in ("train", "val", "test")}

    def splits(self) -> dict[str, list[LabelledText]]:
        splits: dict[str, list[LabelledText]] = {"train": [], "val": [], "test": []}
        examples = unique_examples(stdlib_docstrings(self.min_chars))
        for package in sorted(examples):
            docs = sorted(examples[package])
            if len(docs) < self.min_examples:
                continue
            random.Random(f"{self.seed}-{package}").shuffle(docs)
            n_test = max(1, round(len(docs) * self.fractions["test"]))
            n_val = max(1, round(len(docs) * self.fractions["val"]))
            parts = {
                "test": docs[:n_test],
                "val": docs[n_test : n_test + n_val],
                "train": docs[n_test + n_val :],
            }
            for split, texts in parts.items():
                splits[split] += [LabelledText(text, [package]) for text in texts]
        for split, items in splits.items():
            random.Random(f"{self.seed}-{split}").shuffle(items)
        return splits

    def prepare(self) -> None:
        """Generate the files unless present (``prepare_data()``; safe in several processes at once)."""
        files = self.files()
        publish_directory(files["train"].parent, self._write, files.values())

    def _write(self, folder: Path) -> None:
        for split, examples in self.splits().items():
            write_text_atomically(folder / f"{split}.jsonl", format_jsonl(examples))

    def identity(self) -> dict[str, Any]:
        return files_identity("stdlib_docstrings", self.files())

    def records(self, split: str) -> Iterator[LabelledText]:
        self.prepare()  # reads only, once prepare_data() has run
        return stream_labelled_texts(self.files()[split], f"data.corpus.{split}", "text", "label")

    def load(self) -> dict[str, list[LabelledText]]:
        return {split: list(self.records(split)) for split in self.files()}

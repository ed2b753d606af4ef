"""English at large for the embedded speech corpus: the sentences of the text that ships with
Python — its documentation topics (``pydoc_data.topics``) and the docstrings of its standard
library's modules, classes and functions (read from the source files, nothing imported; tests
left out) — no download; about ten thousand distinct sentences, in their spoken form
(``text/spoken_form.py``), each assigned to one split by a hash of its text — so no validation or
test sentence is ever spoken in training, whatever the voice.

Kept: prose sentences of 4 to 16 words (after the spoken form) that read as prose — no grammar
productions, prompts or code (a sentence with ``::=``, ``>>>``, brackets or underscores is left
out); emphasis marks, quotes and an empty call's ``()`` are dropped first, as a reader would.
"""

from __future__ import annotations

import ast
import re
import sysconfig
import warnings
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from lstm_apps.text.spoken_form import spoken_form

SPLITS = ("train", "val", "test")
# Shares of sentences in val and test, by hash (the rest train).
HELD_OUT = {"val": 0.06, "test": 0.06}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_CODE = re.compile(r"::=|>>>|[\[\]{}_`<>|\\]|\(.|\.\.\.|[A-Za-z]\.[A-Za-z]")
# Marks that do not change what is said: *emphasis*, "quoted" names, an empty call's ().
_MARKS = re.compile(r"[*\"]|\(\)")
MIN_WORDS, MAX_WORDS = 4, 16


def split_of(sentence: str) -> str:
    """``train``, ``val`` or ``test`` for a sentence, the same on every machine."""
    bucket = zlib.crc32(sentence.encode("utf-8")) % 10_000 / 10_000
    if bucket < HELD_OUT["val"]:
        return "val"
    if bucket < HELD_OUT["val"] + HELD_OUT["test"]:
        return "test"
    return "train"


def prose_sentences(text: str, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[str]:
    """The prose sentences of ``text`` in their spoken form, in order (duplicates kept)."""
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.startswith((" ", "\t")):  # indented: examples, grammar, tables
            continue
        for sentence in _SENTENCE_END.split(" ".join(paragraph.split())):
            sentence = _MARKS.sub("", sentence)
            if _CODE.search(sentence) or not sentence[:1].isupper():
                continue
            spoken = spoken_form(sentence)
            if min_words <= len(spoken.split()) <= max_words:
                found.append(spoken)
    return found


def docstrings() -> Iterator[str]:
    """The docstrings of the standard library's source files (its tests left out), in file order."""
    root = Path(sysconfig.get_paths()["stdlib"])
    skipped = {"test", "tests", "idle_test", "site-packages"}
    for path in sorted(root.rglob("*.py")):
        if skipped & set(path.relative_to(root).parts):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escapes in old sources
                tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                text = ast.get_docstring(node)
                if text:
                    yield text


@cache
def source_sentences() -> tuple[str, ...]:
    """Every prose sentence of three words or more of Python's documentation topics and
    docstrings, in their spoken form, in order (a few seconds, once per process)."""
    from pydoc_data.topics import topics

    texts = [topics[name] for name in sorted(topics)] + list(docstrings())
    return tuple(s for text in texts for s in prose_sentences(text, min_words=3, max_words=10**6))


@cache
def sentences_by_split() -> dict[str, tuple[str, ...]]:
    """Every distinct sentence short enough to speak (``MIN_WORDS``-``MAX_WORDS`` words), by split,
    sorted."""
    distinct = {s for s in source_sentences() if MIN_WORDS <= len(s.split()) <= MAX_WORDS}
    by_split: dict[str, list[str]] = {split: [] for split in SPLITS}
    for sentence in sorted(distinct):
        by_split[split_of(sentence)].append(sentence)
    return {split: tuple(found) for split, found in by_split.items()}


@cache
def language_model_sentences() -> tuple[str, ...]:
    """Text for a language model that no validation or test utterance is drawn from: every
    source sentence of any length whose hash puts it in train (val and test sentences never) —
    several times the sentences ever spoken in training."""
    return tuple(s for s in source_sentences() if split_of(s) == "train")


def unseen_share(train_texts: list[str], texts: list[str]) -> float:
    """The share of the words of ``texts`` (running words) that no text of ``train_texts`` has."""
    known = {word for text in train_texts for word in text.split()}
    words = [word for text in texts for word in text.split()]
    return sum(word not in known for word in words) / max(len(words), 1)

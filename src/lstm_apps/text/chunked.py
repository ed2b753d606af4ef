"""Text files read, tokenizers trained and text encoded chunk by chunk: memory stays flat with size.

Chunks end at a line break (the rest carries over to the next chunk), so no word is cut in two
and a BPE or word tokenizer sees the same words as on the whole text.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from lstm_apps.errors import UserError
from lstm_apps.text.tokenizer import CharTokenizer, Tokenizer, WordSplit, train_tokenizer

CHUNK_CHARS = 8 << 20
PIECE_CHARS = 64 << 10  # what one HF batch entry holds: enough pieces per chunk for its threads
PROGRESS_BYTES = 64 << 20  # files from this size on report their progress
PROGRESS_SECONDS = 5.0
MAX_CODE_POINT = 0x10FFFF


def read_chunks(path: str | Path, key: str, size: int = CHUNK_CHARS) -> Iterator[str]:
    """A UTF-8 text file in chunks of about ``size`` characters; every way it can be wrong is one
    line naming ``key`` and the file. Files of 64 MB and more print their progress to stderr."""
    file = Path(path).expanduser()
    if not file.exists():
        raise UserError(f"{key}: file not found: {file}")
    if file.is_dir():
        raise UserError(f"{key}: expected a text file, got a directory: {file}")
    total = file.stat().st_size
    report = _Progress(file.name, total) if total >= PROGRESS_BYTES else None
    blank = True
    carry = ""
    with file.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8") as handle:
        while True:
            try:
                text = handle.read(size)
            except UnicodeDecodeError:
                where = raw.tell()
                raise UserError(f"{key}: {file} is not UTF-8 text (near byte {where})") from None
            if not text:
                break
            blank = blank and not text.strip()
            text = carry + text
            cut = text.rfind("\n") + 1
            if cut == 0:
                carry = text
                continue
            carry = text[cut:]
            if report is not None:
                report.update(raw.tell())
            yield text[:cut]
    if blank:
        raise UserError(f"{key}: file is empty: {file}")
    if carry:
        yield carry
    if report is not None:
        report.done()


def read_lines(path: str | Path, key: str, keepends: bool = False) -> Iterator[str]:
    """The file's lines one at a time (``\n``-separated, ``\r\n`` read as ``\n``), from
    ``read_chunks``: the same one-line errors and progress, never the whole file in memory."""
    for chunk in read_chunks(path, key):
        lines = chunk.split("\n")
        last = lines.pop()  # "" after a final line break; else a last line without one
        if keepends:
            yield from (line + "\n" for line in lines)
        else:
            yield from lines
        if last:
            yield last


class _Progress:
    """One stderr line every few seconds: how far a large file's pass has got, and how fast."""

    def __init__(self, name: str, total: int) -> None:
        self.name, self.total = name, total
        self.start = self.last = time.perf_counter()

    def update(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self._print(done, now)

    def done(self) -> None:
        self._print(self.total, time.perf_counter())

    def _print(self, done: int, now: float) -> None:
        rate = done / max(now - self.start, 1e-9) / 1e6
        print(
            f"[lstm-apps] reading {self.name}: {done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB ({rate:.0f} MB/s)",
            file=sys.stderr,
            flush=True,
        )


def code_points(text: str) -> np.ndarray:
    """The text's code points as ``uint32``, without a Python object per character."""
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def train_char(chunks: Iterable[str], min_frequency: int = 1) -> CharTokenizer:
    """``CharTokenizer.train`` on chunks: characters counted with ``bincount``, chunk by chunk."""
    counts = np.zeros(MAX_CODE_POINT + 1, dtype=np.int64)
    for chunk in chunks:
        counts += np.bincount(code_points(chunk), minlength=MAX_CODE_POINT + 1)
    seen = np.nonzero(counts >= max(min_frequency, 1))[0]
    return CharTokenizer.from_symbols(sorted(chr(int(c)) for c in seen))


def _pieces(chunk: str, size: int = PIECE_CHARS) -> list[str]:
    """``chunk`` cut after a line break about every ``size`` characters."""
    pieces, start = [], 0
    while start < len(chunk):
        stop = chunk.find("\n", start + size) + 1 or len(chunk)
        pieces.append(chunk[start:stop])
        start = stop
    return pieces


def train_streaming(
    kind: str,
    chunks: Iterable[str],
    vocab_size: int,
    min_frequency: int = 1,
    lowercase: bool = False,
    word_split: WordSplit = "whitespace",
) -> Tokenizer:
    """A tokenizer of ``kind`` trained on ``chunks`` without holding the whole text
    (``lowercase``: bpe and word; ``word_split``: word)."""
    if kind == "char":
        return train_char(chunks, min_frequency)
    # HF tokenizers read the paragraphs as they are pulled; the dispatch is train_tokenizer's
    paragraphs = (p for chunk in chunks for p in chunk.split("\n\n"))
    return train_tokenizer(kind, paragraphs, vocab_size, min_frequency, lowercase, word_split)


def encode_chunks(tokenizer: Tokenizer, chunks: Iterable[str]) -> Iterator[np.ndarray]:
    """Token ids of each chunk as an array: a lookup table over code points for characters, HF's
    (multi-threaded) batch encoding over pieces of the chunk otherwise."""
    if isinstance(tokenizer, CharTokenizer):
        table = char_table(tokenizer)
        for chunk in chunks:
            yield table[np.minimum(code_points(chunk), len(table) - 1)]
        return
    for chunk in chunks:
        encoded = tokenizer.encode_batch(_pieces(chunk))
        yield np.fromiter((i for ids in encoded for i in ids), dtype=np.int64)


def char_table(tokenizer: CharTokenizer) -> np.ndarray:
    """``table[code point]`` is the character's id; the last entry (and any code point past the
    largest known one) is ``<unk>``."""
    singles = {ord(s): i for i, s in enumerate(tokenizer.symbols) if len(s) == 1}
    unk = tokenizer.token_id("<unk>")
    table = np.full(max(singles, default=0) + 2, unk, dtype=np.uint32)
    for point, index in singles.items():
        table[point] = index
    return table

"""The batches ``make bench`` counts a tagger training step's operator calls on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

# Batches of sentences of these lengths (words), then one of mixed lengths.
OPERATOR_LENGTHS = (10, 25)


def operator_cases(datamodule: Any, batch_size: int) -> dict[str, Any]:
    """Name -> batch: ``batch_size`` training sentences of each of ``OPERATOR_LENGTHS`` words,
    and one batch spread over the lengths there are."""
    source = datamodule.make_batches("train", batch_size, False, 0, 1)
    lengths = [int(n) for n in source.sentences.words.lengths]
    by_length: dict[int, list[int]] = {}
    for index, length in enumerate(lengths):
        by_length.setdefault(length, []).append(index)
    cases = {f"{n} words each": source.collate(by_length[n][:batch_size]) for n in OPERATOR_LENGTHS}
    spread = sorted(by_length)
    mixed = [by_length[spread[i * len(spread) // batch_size]][0] for i in range(batch_size)]
    cases[f"mixed, {lengths[mixed[0]]}-{lengths[mixed[-1]]} words"] = source.collate(mixed)
    return cases


def serve_setup(folder: Path, sentences: Callable[..., list[str]]) -> tuple[list[str], Callable[[str], dict]]:
    """Overrides training the served model on synthetic sentences written under ``folder``, and
    the request for one sentence."""
    tags = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "B-ORG", "I-ORG", "B-MISC"]
    blocks = []
    for i, text in enumerate(sentences(8000, 1)):
        blocks.append("".join(f"{w} {tags[(i + j) % len(tags)]}\n" for j, w in enumerate(text.split())))
    (folder / "train.txt").write_text("\n".join(blocks) + "\n")
    overrides = [
        "app=tagger",
        "data/corpus=conll_files",
        f"data.corpus.train={folder / 'train.txt'}",
        f"data.corpus.val={folder / 'train.txt'}",
        "model.word_dim=100",
        "model.char_features=lstm",
        "model.char_dim=25",
        "model.char_size=50",
        "model.hidden_size=100",
        "model.output=crf",
    ]
    return overrides, lambda text: {"text": text}

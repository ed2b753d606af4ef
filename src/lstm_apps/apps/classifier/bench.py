"""The model ``make bench-serve`` serves for the classifier: the SST-2 recipe's size on synthetic data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def serve_setup(folder: Path, sentences: Callable[..., list[str]]) -> tuple[list[str], Callable[[str], dict]]:
    """Overrides training the served model on synthetic sentences written under ``folder``, and
    the request for one sentence."""
    rows = [f"{text}\t{'pos' if i % 2 else 'neg'}" for i, text in enumerate(sentences(20000, 0))]
    (folder / "train.tsv").write_text("text\tlabel\n" + "\n".join(rows) + "\n")
    overrides = [
        "app=classifier",
        "data/corpus=labelled_files",
        f"data.corpus.train={folder / 'train.tsv'}",
        f"data.corpus.val={folder / 'train.tsv'}",
        "data.tokenizer=word",
        "data.min_frequency=1",
        "model.embedding_dim=300",
        "model.hidden_size=256",
        "model.num_layers=1",
        "model.pooling=attention",
    ]
    return overrides, lambda text: {"text": text}

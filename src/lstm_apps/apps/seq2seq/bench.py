"""The model ``make bench-serve`` serves for the seq2seq: the Multi30k recipe's size on synthetic data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def serve_setup(folder: Path, sentences: Callable[..., list[str]]) -> tuple[list[str], Callable[[str], dict]]:
    """Overrides training the served model on synthetic sentences written under ``folder``, and
    the request for one sentence."""
    sources, targets = sentences(20000, 2, 6, 20), sentences(20000, 3, 6, 20)
    (folder / "pairs.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in zip(sources, targets, strict=True)))
    overrides = [
        "app=seq2seq",
        "data/corpus=parallel_files",
        f"data.corpus.train={folder / 'pairs.tsv'}",
        f"data.corpus.val={folder / 'pairs.tsv'}",
        "data.tokenizer=word",
        "data.vocab_size=10000",
        "data.min_frequency=1",
        "model.embedding_dim=256",
        "model.hidden_size=512",
        "model.encoder_layers=2",
        "model.decoder_layers=2",
        "model.attention=general",
        "model.input_feeding=true",
        "model.tie_embeddings=true",
        "model.max_len_a=1.5",
        "model.max_len_b=5",
    ]
    return overrides, lambda text: {"source": text, "beam_size": 5}

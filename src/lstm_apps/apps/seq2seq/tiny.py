"""The translator on number words -> digits, for the tests: trains in a second or two on a CPU."""

from __future__ import annotations

from pathlib import Path

from lstm_apps.registry import QUIET, FormStep, Playground, Tiny

PAIRS = [
    ("one two", "1 2"),
    ("two three", "2 3"),
    ("three one", "3 1"),
    ("one one", "1 1"),
    ("two two three", "2 2 3"),
    ("three two one", "3 2 1"),
]


def write_pairs(folder: Path, repeat: int = 20) -> Path:
    """A TSV of ``PAIRS``: number words to digits."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pairs.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS) * repeat)
    return path


def tiny_seq2seq_overrides(tsv: Path) -> list[str]:
    return [
        "app=seq2seq",
        "data/corpus=parallel_files",
        f"data.corpus.train={tsv}",
        f"data.corpus.val={tsv}",
        "data.tokenizer=word",
        "data.batch_size=12",
        "data.eval_batch_size=32",
        "model.embedding_dim=16",
        "model.hidden_size=32",
        "model.label_smoothing=0.0",
        "model.dropout=0.0",
        "model.test_beam_size=3",
        "optimizer.lr=0.01",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def tiny(folder: Path) -> Tiny:
    return Tiny(
        tiny_seq2seq_overrides(write_pairs(folder)),
        ["input=one two", "beam_size=2", "n_best=2"],
        request_json={"source": "one two", "beam_size": 2, "n_best": 2},
        answer_keys=frozenset({"translation", "n_best", "attention"}),
        playground=Playground((FormStep("fill", "#source", "one two"),), "#translation"),
    )

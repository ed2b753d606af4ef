"""The classifier on six labelled sentences, for the tests: trains in a second or two on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

from lstm_apps.registry import QUIET, FormStep, Playground, Tiny

EXAMPLES = [
    ("the match ended with a late goal for the home team", "sports"),
    ("the striker scored twice in the cup final", "sports"),
    ("parliament passed the budget after a long debate", "politics"),
    ("the minister resigned over the election scandal", "politics"),
    ("the new phone has a faster chip and a bigger screen", "tech"),
    ("the software update fixes a security bug in the browser", "tech"),
]


def write_labelled(folder: Path, repeat: int = 4, fmt: str = "csv", name: str = "train") -> Path:
    """``EXAMPLES`` as a CSV, TSV or JSONL file of text and label."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    rows = EXAMPLES * repeat
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows))
    else:
        sep = "\t" if fmt == "tsv" else ","
        path.write_text(f"text{sep}label\n" + "".join(f"{t}{sep}{y}\n" for t, y in rows))
    return path


def tiny_classifier_overrides(path: Path) -> list[str]:
    return [
        "app=classifier",
        "data/corpus=labelled_files",
        f"data.corpus.train={path}",
        f"data.corpus.val={path}",
        "data.batch_size=6",
        "data.min_frequency=1",
        "model.embedding_dim=16",
        "model.hidden_size=16",
        "model.attention_size=8",
        "model.dropout=0.0",
        "optimizer.lr=0.02",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def tiny(folder: Path) -> Tiny:
    text = "the striker scored"
    return Tiny(
        tiny_classifier_overrides(write_labelled(folder / "data")),
        [f"text={text}"],
        request_json={"text": text},
        answer_keys=frozenset({"labels", "probabilities"}),
        playground=Playground((FormStep("fill", "#text", text),), "#result .bar"),
    )

"""The tagger on a handful of CoNLL sentences, for the tests: trains in a second or two on a CPU."""

from __future__ import annotations

from pathlib import Path

from lstm_apps.registry import QUIET, FormStep, Playground, Tiny

SENTENCES = [
    ("John lives in Berlin .", "B-PER O O B-LOC O"),
    ("Mary Smith works for Acme Corp .", "B-PER I-PER O O B-ORG I-ORG O"),
    ("Jordan visited Jordan on Monday .", "B-PER O B-LOC O B-DATE O"),
    ("Acme Corp hired Mary in Paris .", "B-ORG I-ORG O B-PER O B-LOC O"),
    ("Paris said Berlin is cold .", "B-PER O B-LOC O O O"),
]


def write_conll(folder: Path, repeat: int = 1, name: str = "train.txt") -> Path:
    """A CoNLL file of ``SENTENCES`` (IOB2 tags), ``repeat`` times."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    block = "".join(
        "".join(f"{w} {t}\n" for w, t in zip(s.split(), g.split(), strict=True)) + "\n" for s, g in SENTENCES
    )
    path.write_text("-DOCSTART- O\n\n" + block * repeat)
    return path


def tiny_tagger_overrides(path: Path) -> list[str]:
    return [
        "app=tagger",
        "data/corpus=conll_files",
        f"data.corpus.train={path}",
        f"data.corpus.val={path}",
        "data.batch_size=5",
        "model.word_dim=16",
        "model.char_dim=8",
        "model.char_size=16",
        "model.hidden_size=32",
        "model.dropout=0.0",
        "model.word_dropout=0.0",
        "optimizer.lr=0.02",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def tiny(folder: Path) -> Tiny:
    text = "John lives in Berlin ."
    return Tiny(
        tiny_tagger_overrides(write_conll(folder, repeat=4)),
        [f"text={text}"],
        request_json={"text": text},
        answer_keys=frozenset({"tokens", "entities"}),
        playground=Playground((FormStep("fill", "#text", text),), "#tagged"),
    )

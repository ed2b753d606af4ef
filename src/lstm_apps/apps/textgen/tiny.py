"""The text generator on a tiny corpus, for the tests: trains in a second or two on a CPU."""

from __future__ import annotations

from pathlib import Path

from lstm_apps.registry import QUIET, FormStep, Playground, Tiny

TINY_TEXT = (
    "the cat sat on the mat. the dog sat on the log. a cat and a dog met on the mat.\n\n"
    "def add(a, b):\n    return a + b\n\n"
)


def write_tiny_corpus(root: Path) -> dict[str, Path]:
    """Train/val/test text files."""
    files = {}
    for split, repeat in (("train", 12), ("val", 4), ("test", 4)):
        path = root / "corpus" / f"{split}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TINY_TEXT * repeat)
        files[split] = path
    return files


def tiny_textgen_overrides(corpus: dict[str, Path]) -> list[str]:
    return [
        "app=textgen",
        "data/corpus=text_files",
        f"data.corpus.train={corpus['train']}",
        f"data.corpus.val={corpus['val']}",
        f"data.corpus.test={corpus['test']}",
        "data.batch_size=4",
        "data.eval_batch_size=2",
        "data.bptt=16",
        "model.embedding_dim=16",
        "model.hidden_size=16",
        "model.num_layers=1",
        "model.sample_tokens=8",
        *QUIET,
        "trainer.max_epochs=1",
        "trainer.log_every_n_steps=1",
    ]


def tiny(folder: Path) -> Tiny:
    return Tiny(
        tiny_textgen_overrides(write_tiny_corpus(folder)),
        ["prompt=the cat", "max_new_tokens=8"],
        request_json={"prompt": "the cat", "max_new_tokens": 8, "seed": 7},
        answer_keys=frozenset({"generated", "samples"}),
        playground=Playground(
            (FormStep("fill", "#prompt", "the cat"), FormStep("fill", "#max_new_tokens", "8")),
            "#output[data-done]",
        ),
    )

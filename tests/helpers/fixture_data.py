"""Writers of tiny data sets, one per app's input format: small enough to train on in seconds."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import torch

TINY_TEXT = (
    "the cat sat on the mat. the dog sat on the log. a cat and a dog met on the mat.\n\n"
    "def add(a, b):\n    return a + b\n\n"
)

PAIRS = [
    ("one two", "1 2"),
    ("two three", "2 3"),
    ("three one", "3 1"),
    ("one one", "1 1"),
    ("two two three", "2 2 3"),
    ("three two one", "3 2 1"),
]

SENTENCES = [
    ("John lives in Berlin .", "B-PER O O B-LOC O"),
    ("Mary Smith works for Acme Corp .", "B-PER I-PER O O B-ORG I-ORG O"),
    ("Jordan visited Jordan on Monday .", "B-PER O B-LOC O B-DATE O"),
    ("Acme Corp hired Mary in Paris .", "B-ORG I-ORG O B-PER O B-LOC O"),
    ("Paris said Berlin is cold .", "B-PER O B-LOC O O O"),
]

EXAMPLES = [
    ("the match ended with a late goal for the home team", "sports"),
    ("the striker scored twice in the cup final", "sports"),
    ("parliament passed the budget after a long debate", "politics"),
    ("the minister resigned over the election scandal", "politics"),
    ("the new phone has a faster chip and a bigger screen", "tech"),
    ("the software update fixes a security bug in the browser", "tech"),
]


def write_tiny_corpus(root: Path) -> dict[str, Path]:
    """Train/val/test text files for textgen."""
    files = {}
    for split, repeat in (("train", 12), ("val", 4), ("test", 4)):
        path = root / "corpus" / f"{split}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TINY_TEXT * repeat)
        files[split] = path
    return files


def write_pairs(folder: Path, repeat: int = 20) -> Path:
    """A seq2seq TSV: number words to digits."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pairs.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in PAIRS) * repeat)
    return path


def handful(folder: Path) -> Path:
    """Four images, each with one exact caption (Karpathy JSON, train = val = test)."""
    from lstm_apps.apps.captioner.scenes import Shape, draw

    folder.mkdir(parents=True, exist_ok=True)
    scenes = [
        Shape("circle", "red", True, 1, 1),
        Shape("square", "blue", True, 1, 1),
        Shape("triangle", "green", True, 1, 1),
        Shape("circle", "yellow", True, 1, 1),
    ]
    images = []
    for i, shape in enumerate(scenes):
        draw([shape]).save(folder / f"{i}.png")
        caption = f"a {shape.colour} {shape.kind}"
        for split in ("train", "val", "test"):
            images.append(
                {"filename": f"{i}.png", "split": split, "sentences": [{"tokens": caption.split()}]}
            )
    path = folder / "dataset.json"
    path.write_text(json.dumps({"images": images}))
    return path


def write_conll(folder: Path, repeat: int = 1, name: str = "train.txt") -> Path:
    """A CoNLL file of ``SENTENCES`` (IOB2 tags), ``repeat`` times."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    block = "".join(
        "".join(f"{w} {t}\n" for w, t in zip(s.split(), g.split(), strict=True)) + "\n" for s, g in SENTENCES
    )
    path.write_text("-DOCSTART- O\n\n" + block * repeat)
    return path


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


def weekly_values(n: int, seed: int = 0) -> np.ndarray:
    """A trend, a yearly season and a little noise: the shape of the CO2 series."""
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 0.05, n)
    return 10 + 0.02 * t + np.sin(2 * math.pi * t / 52) + noise


def write_series(
    folder: Path, n: int = 260, values: np.ndarray | None = None, name: str = "series.csv"
) -> Path:
    """A weekly ``time,value`` CSV for the forecaster."""
    folder.mkdir(parents=True, exist_ok=True)
    values = weekly_values(n) if values is None else values
    start = date(2000, 1, 1)
    rows = [f"{start + timedelta(weeks=i)},{v:.6f}" for i, v in enumerate(values)]
    path = folder / name
    path.write_text("time,value\n" + "\n".join(rows) + "\n")
    return path


def app_checkpoint(folder: Path, app: str, handoff_key: str = "handoff") -> Path:
    """A checkpoint that only names its app: enough for ``predict`` to choose the app's options."""
    path = folder / f"{app}.ckpt"
    meta = {"format": 1, "app": app, "config": {}, handoff_key: {"vocab_size": 7}, "vocab": {}}
    torch.save({"state_dict": {}, "lstm_apps": meta}, path)
    return path


SPOKEN = ["one two", "three four", "five six", "go left", "go right", "stop now"]


def write_speech(
    folder: Path, voices: tuple[str, ...] = ("m1", "f3", "m2"), name: str = "train.jsonl"
) -> Path:
    """``SPOKEN`` said by each of ``voices`` (eSpeak NG), as 16 kHz WAV files and a JSON-lines
    manifest with paths relative to it."""
    from lstm_apps.apps.asr.audio import resample, to_int16, write_wav
    from lstm_apps.apps.asr.espeak import Synthesiser, Voice

    folder.mkdir(parents=True, exist_ok=True)
    synthesiser = Synthesiser()
    rows = []
    for variant in voices:
        for i, text in enumerate(SPOKEN):
            speech = synthesiser.speak(text, Voice("en-us", variant, rate=180))
            audio = to_int16(resample(speech / 32768.0, synthesiser.sample_rate, 16_000, "test"))
            file = f"{variant}-{i}.wav"
            write_wav(folder / file, audio, 16_000)
            rows.append(json.dumps({"audio_filepath": file, "duration": len(audio) / 16_000, "text": text}))
    manifest = folder / name
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def write_chorales(folder: Path, pieces: tuple[int, int, int] = (10, 3, 3), seed: int = 0) -> Path:
    """A folder holding ``jsb-chorales-quarter.json`` in the benchmark's layout: pieces that walk
    a I-IV-V-I progression in four voices (learnable), some steps held."""
    rng = np.random.default_rng(seed)
    chords = [[48, 64, 67, 72], [53, 65, 69, 72], [55, 62, 67, 71], [48, 64, 67, 72]]

    def piece() -> list[list[int]]:
        steps = int(rng.integers(8, 16))
        start = int(rng.integers(0, 4))
        return [chords[(start + t // 2) % 4] if rng.random() > 0.05 else [] for t in range(steps)]

    data = {
        split: [piece() for _ in range(n)]
        for split, n in zip(("train", "valid", "test"), pieces, strict=True)
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "jsb-chorales-quarter.json").write_text(json.dumps(data))
    return folder

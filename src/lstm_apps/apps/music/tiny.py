"""The music model on generated four-voice progressions, for the tests: trains in seconds on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lstm_apps.registry import QUIET, FormStep, Playground, Tiny


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


def tiny_music_overrides(folder: Path) -> list[str]:
    return [
        "app=music",
        "data/scores=jsb_chorales",
        f"data.scores.folder={folder}",
        "data.batch_size=4",
        "model.output=joint",
        "model.hidden_size=16",
        "model.num_layers=1",
        "model.input_size=8",
        "model.joint_units=16",
        "model.dropout=0.0",
        "model.log_samples=1",
        "model.sample_steps=4",
        "optimizer.lr=0.01",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def tiny(folder: Path) -> Tiny:
    scores = write_chorales(folder / "chorales")
    return Tiny(
        tiny_music_overrides(scores),
        ["num_samples=2", "length=6", f"output_dir={folder / 'samples'}"],
        request_json={"num_samples": 2, "length": 5, "seed": 4},
        answer_keys=frozenset({"samples", "primer_steps", "steps_per_quarter"}),
        playground=Playground((FormStep("fill", "#length", "12"),), "#pieces canvas.roll"),
        steady=("data.batch_size=1",),
    )

"""The captioner on four shapes with one caption each, for the tests: trains in seconds on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

from lstm_apps.registry import QUIET, FormStep, Playground, Tiny


def handful(folder: Path, train_repeat: int = 1, name: str = "dataset.json") -> Path:
    """Four images, each with one exact caption (Karpathy JSON ``name``, train = val = test; the
    training entries ``train_repeat`` times)."""
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
        for split in ("train",) * train_repeat + ("val", "test"):
            images.append(
                {"filename": f"{i}.png", "split": split, "sentences": [{"tokens": caption.split()}]}
            )
    path = folder / name
    path.write_text(json.dumps({"images": images}))
    return path


def tiny_captioner_overrides(dataset: Path) -> list[str]:
    return [
        "app=captioner",
        "data/dataset=karpathy",
        f"data.dataset.json_path={dataset}",
        f"data.dataset.image_root={dataset.parent}",
        "data.batch_size=4",
        "model.encoder.channels=16",
        "model.encoder.grid_size=2",
        "model.hidden_size=16",
        "model.embedding_dim=8",
        *QUIET,
    ]


def tiny(folder: Path) -> Tiny:
    dataset = handful(folder / "data")
    twelve = handful(folder / "data", train_repeat=3, name="twelve.json")  # 12 steps at batch 1
    image = dataset.parent / "1.png"
    return Tiny(
        tiny_captioner_overrides(dataset),
        [f"image={image}", "beam_size=2"],
        request_files={"image": image},
        request_form={"beam_size": "2"},
        answer_keys=frozenset({"caption", "attention"}),
        playground=Playground((FormStep("file", "#image", str(image)),), "#caption"),
        steady=("data.batch_size=1", f"data.dataset.json_path={twelve}"),
    )

"""The embedded captioning data: generated scenes of coloured shapes with several captions each.

Each 64x64 image holds 1-3 shapes (circle, square, triangle; six colours; small or large) in
distinct cells of a 3x3 layout. Five captions per image, from varied templates, name every
shape's size, colour and kind and — with two or more — how they lie relative to each other
("a red circle to the left of a blue square"). Written as PNG files plus a Karpathy-format
``dataset.json``, so the same reader loads it as Flickr8k or COCO.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from lstm_apps.data.files import write_text_atomically

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 70, 220),
    "yellow": (235, 200, 20),
    "purple": (140, 40, 170),
    "orange": (245, 130, 20),
}
SHAPES = ("circle", "square", "triangle")
SIZE = 64
CELL = SIZE // 3


@dataclass(frozen=True)
class Shape:
    kind: str
    colour: str
    large: bool
    row: int
    col: int

    def phrase(self, rng: random.Random, article: str = "a") -> str:
        words = []
        if rng.random() < 0.7:
            words.append("large" if self.large else "small")
        words += [self.colour, self.kind]
        if article == "a" and words[0][0] in "aeiou":
            article = "an"
        return " ".join([article, *words])


def draw(shapes: list[Shape]) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), (245, 245, 245))
    pen = ImageDraw.Draw(image)
    for s in shapes:
        half = 9 if s.large else 5
        cx, cy = s.col * CELL + CELL // 2, s.row * CELL + CELL // 2
        box = (cx - half, cy - half, cx + half, cy + half)
        colour = COLOURS[s.colour]
        if s.kind == "circle":
            pen.ellipse(box, fill=colour)
        elif s.kind == "square":
            pen.rectangle(box, fill=colour)
        else:
            pen.polygon([(cx, cy - half), (cx - half, cy + half), (cx + half, cy + half)], fill=colour)
    return image


def relation(a: Shape, b: Shape) -> str:
    """Where ``a`` lies relative to ``b``, along the axis on which they differ most."""
    dx, dy = a.col - b.col, a.row - b.row
    if abs(dx) >= abs(dy):
        return "to the left of" if dx < 0 else "to the right of"
    return "above" if dy < 0 else "below"


def captions(shapes: list[Shape], rng: random.Random, count: int = 5) -> list[str]:
    found: list[str] = []
    for _ in range(count * 4):
        if len(found) == count:
            break
        if len(shapes) == 1:
            s = shapes[0]
            text = rng.choice(
                [
                    f"{s.phrase(rng)}",
                    f"there is {s.phrase(rng)}",
                    f"{s.phrase(rng)} on a white background",
                    f"a picture of {s.phrase(rng)}",
                    f"{s.phrase(rng)} alone",
                ]
            )
        elif len(shapes) == 2:
            a, b = rng.sample(shapes, 2)
            text = rng.choice(
                [
                    f"{a.phrase(rng)} {relation(a, b)} {b.phrase(rng)}",
                    f"there is {a.phrase(rng)} {relation(a, b)} {b.phrase(rng)}",
                    f"{a.phrase(rng)} and {b.phrase(rng)}",
                ]
            )
        else:
            a, b, c = rng.sample(shapes, 3)
            text = rng.choice(
                [
                    f"{a.phrase(rng)} , {b.phrase(rng)} and {c.phrase(rng)}",
                    f"{a.phrase(rng)} {relation(a, b)} {b.phrase(rng)} and {c.phrase(rng)}",
                    f"three shapes : {a.phrase(rng)} , {b.phrase(rng)} and {c.phrase(rng)}",
                ]
            )
        if text not in found:
            found.append(text)
    return found


def random_scene(rng: random.Random) -> list[Shape]:
    cells = rng.sample([(r, c) for r in range(3) for c in range(3)], rng.randint(1, 3))
    return [Shape(rng.choice(SHAPES), rng.choice(list(COLOURS)), rng.random() < 0.5, r, c) for r, c in cells]


def write_dataset(directory: Path, sizes: dict[str, int], seed: int = 0) -> Path:
    """Write ``images/*.png`` and a Karpathy-format ``dataset.json``; return the JSON path."""
    rng = random.Random(seed)
    (directory / "images").mkdir(parents=True, exist_ok=True)
    images: list[dict[str, object]] = []
    for split, count in sizes.items():
        for _ in range(count):
            shapes = random_scene(rng)
            name = f"{len(images):06d}.png"
            draw(shapes).save(directory / "images" / name)
            sentences = [{"raw": t, "tokens": t.split()} for t in captions(shapes, rng)]
            images.append(
                {
                    "imgid": len(images),
                    "filepath": "images",
                    "filename": name,
                    "split": split,
                    "sentences": sentences,
                }
            )
    target = directory / "dataset.json"
    write_text_atomically(target, json.dumps({"dataset": "scenes", "images": images}))
    return target

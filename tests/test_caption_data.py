"""Caption data: the generated scenes and both JSON formats, good and broken."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from PIL import Image

from lstm_apps.apps.captioner.captions import read_coco, read_karpathy
from lstm_apps.apps.captioner.scenes import Shape, captions, draw, relation, write_dataset
from lstm_apps.errors import UserError


def test_scenes_are_deterministic_and_captions_name_what_is_drawn(tmp_path: Path) -> None:
    first = write_dataset(tmp_path / "a", {"train": 6, "val": 2})
    second = write_dataset(tmp_path / "b", {"train": 6, "val": 2})
    assert first.read_text() == second.read_text()
    splits = read_karpathy(first, first.parent)
    assert len(splits["train"]) == 6 and len(splits["val"]) == 2
    path, references = splits["train"][0]
    assert Image.open(path).size == (64, 64) and len(references) >= 3


def test_scene_relations_and_colours() -> None:
    left, right = Shape("circle", "red", True, 1, 0), Shape("square", "blue", False, 1, 2)
    assert relation(left, right) == "to the left of" and relation(right, left) == "to the right of"
    assert relation(Shape("circle", "red", True, 0, 1), Shape("circle", "red", True, 2, 1)) == "above"
    image = draw([left])
    assert image.getpixel((10, 31)) == (220, 30, 30)  # the red circle's centre
    for text in captions([left, right], random.Random(0)):
        assert "red circle" in text and "blue square" in text
        assert " a orange" not in text


def test_karpathy_reader_rejects_broken_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match="bad.json is not valid JSON"):
        read_karpathy(bad, tmp_path)
    bad.write_text(json.dumps({"images": [{"filename": "x.png", "sentences": []}]}))
    with pytest.raises(UserError, match=r"images\[0\] lacks 'split'"):
        read_karpathy(bad, tmp_path)
    bad.write_text(
        json.dumps({"images": [{"filename": "x.png", "split": "restval", "sentences": [{"raw": "a b"}]}]})
    )
    with pytest.raises(UserError, match="image file not found: .*x.png"):
        read_karpathy(bad, tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    assert read_karpathy(bad, tmp_path)["train"][0][1] == ["a b"], "restval counts as train"


def test_coco_reader(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "img1.jpg")
    notes = {
        "images": [{"id": 1, "file_name": "img1.jpg"}],
        "annotations": [{"image_id": 1, "caption": "A Dog  runs."}, {"image_id": 1, "caption": "a dog"}],
    }
    path = tmp_path / "captions_val2014.json"
    path.write_text(json.dumps(notes))
    assert read_coco(path, tmp_path) == [(tmp_path / "img1.jpg", ["a dog runs.", "a dog"])]
    notes["annotations"].append({"image_id": 7, "caption": "x"})
    path.write_text(json.dumps(notes))
    with pytest.raises(UserError, match="unknown image id 7"):
        read_coco(path, tmp_path)
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(UserError, match="not a COCO captions file"):
        read_coco(path, tmp_path)

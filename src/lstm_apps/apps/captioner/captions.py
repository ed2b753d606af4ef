"""Image-caption data sets in the formats people use: Karpathy split JSON and COCO annotations.

Both give, per split, a list of ``(image path, [reference captions])``; every problem (bad JSON,
missing keys, missing image files) is one line naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lstm_apps.errors import UserError

CaptionedImages = list[tuple[Path, list[str]]]
KARPATHY_SPLITS = {"train": "train", "restval": "train", "val": "val", "test": "test"}


def _load_json(path: str | Path, key: str) -> Any:
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(f"{key}: file not found: {file}")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{key}: {file} is not valid JSON ({err})") from None


def _check_images(images: CaptionedImages, source: Path) -> None:
    for path, _ in images:
        if not path.is_file():
            raise UserError(f"{source}: image file not found: {path}")


def read_karpathy(
    json_path: str | Path, image_root: str | Path, key: str = "data.dataset"
) -> dict[str, CaptionedImages]:
    """``dataset_coco.json`` / ``dataset_flickr8k.json`` style: ``images[].split`` (``restval``
    counts as train), ``filepath``/``filename`` under ``image_root``, ``sentences[].tokens``."""
    payload = _load_json(json_path, key)
    root = Path(image_root).expanduser()
    if not isinstance(payload, dict) or not isinstance(payload.get("images"), list):
        raise UserError(f"{key}: {json_path} has no 'images' list (not a Karpathy split file)")
    splits: dict[str, CaptionedImages] = {"train": [], "val": [], "test": []}
    for number, entry in enumerate(payload["images"]):
        try:
            split = KARPATHY_SPLITS[entry["split"]]
            path = root / entry.get("filepath", "") / entry["filename"]
            references = [" ".join(s["tokens"]) if s.get("tokens") else s["raw"] for s in entry["sentences"]]
        except (KeyError, TypeError) as err:
            raise UserError(
                f"{json_path}: images[{number}] lacks {err} (need split, filename, sentences)"
            ) from None
        if not references:
            raise UserError(f"{json_path}: images[{number}] ({entry['filename']}) has no sentences")
        splits[split].append((path, references))
    for images in splits.values():
        _check_images(images, Path(json_path))
    return splits


def read_coco(
    annotations_path: str | Path, image_dir: str | Path, key: str = "data.dataset"
) -> CaptionedImages:
    """COCO ``captions_*.json`` (``images[].id/file_name``, ``annotations[].image_id/caption``)."""
    payload = _load_json(annotations_path, key)
    folder = Path(image_dir).expanduser()
    try:
        files = {image["id"]: image["file_name"] for image in payload["images"]}
        captions: dict[int, list[str]] = {}
        for note in payload["annotations"]:
            captions.setdefault(note["image_id"], []).append(
                " ".join(note["caption"].strip().lower().split())
            )
    except (KeyError, TypeError) as err:
        raise UserError(f"{annotations_path}: not a COCO captions file (missing {err})") from None
    unknown = sorted(set(captions) - set(files))
    if unknown:
        raise UserError(f"{annotations_path}: annotations refer to unknown image id {unknown[0]}")
    images = [(folder / files[i], refs) for i, refs in sorted(captions.items())]
    _check_images(images, Path(annotations_path))
    return images

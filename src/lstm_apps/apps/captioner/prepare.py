"""Arrange Flickr8k or COCO with Karpathy's splits for the captioner.

    lstm-apps prepare captioner flickr8k     # ~1 GB: images + dataset_flickr8k.json
    lstm-apps prepare captioner coco         # ~19 GB: train2014 + val2014 + dataset_coco.json
    lstm-apps train app=captioner experiment=captioner_coco

Archives already on disk are used when ``--base-url file:///folder/with/the/zips`` points at
them. The result is ``data/captioner/<name>/dataset_<name>.json`` plus the image folders its
``filepath`` entries name, i.e. what ``data/dataset=karpathy`` reads.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TypedDict

from lstm_apps.apps.captioner.captions import read_karpathy
from lstm_apps.data.download import fetch
from lstm_apps.errors import UserError

KARPATHY_SPLITS = "http://cs.stanford.edu/people/karpathy/deepimagesent"
DATASETS = {
    "flickr8k": "Flickr8k images with Karpathy's split (~1 GB)",
    "coco": "COCO train2014 + val2014 with Karpathy's split (~19 GB)",
}


class Source(TypedDict):
    archives: dict[str, str]  # archive name -> the base URL it is fetched from
    json: str
    image_root: str


SOURCES: dict[str, Source] = {
    "flickr8k": {
        "archives": {
            "caption_datasets.zip": KARPATHY_SPLITS,
            "Flickr8k_Dataset.zip": "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k",
        },
        "json": "dataset_flickr8k.json",
        "image_root": "Flicker8k_Dataset",  # the archive's own (misspelt) folder name
    },
    "coco": {
        "archives": {
            "caption_datasets.zip": KARPATHY_SPLITS,
            "train2014.zip": "http://images.cocodataset.org/zips",
            "val2014.zip": "http://images.cocodataset.org/zips",
        },
        "json": "dataset_coco.json",
        "image_root": ".",
    },
}


def prepare(name: str, out_dir: Path, base_url: str | None = None) -> dict[str, Path]:
    """Fetch (or take from ``base_url``) the archives, unpack them, and check the result loads."""
    if name not in SOURCES:
        raise UserError(f"unknown data set '{name}' (available: {', '.join(SOURCES)})")
    source = SOURCES[name]
    target = out_dir / name
    for archive, default_base in source["archives"].items():
        path = fetch(f"{(base_url or default_base).rstrip('/')}/{archive}", target / "archives" / archive)
        try:
            with zipfile.ZipFile(path) as bundle:
                members = [
                    m
                    for m in bundle.namelist()
                    if archive != "caption_datasets.zip" or m.endswith(source["json"])
                ]
                bundle.extractall(target, members)
        except zipfile.BadZipFile:
            raise UserError(f"{path}: not a zip archive") from None
    found = list(target.rglob(source["json"]))
    if not found:
        raise UserError(f"{source['json']} is not in caption_datasets.zip")
    dataset = target / source["json"]
    if found[0] != dataset:
        found[0].replace(dataset)
    image_root = target / source["image_root"]
    splits = read_karpathy(dataset, image_root)  # fails, naming the file, if an image is missing
    print(f"{name}: " + ", ".join(f"{k} {len(v):,} images" for k, v in splits.items()))
    print(
        f"train with: data/dataset=karpathy data.dataset.json_path={dataset} data.dataset.image_root={image_root}"
    )
    return {"dataset": dataset, "images": image_root}

"""Where captioning data comes from: generated scenes, a Karpathy split file, or COCO files."""

from __future__ import annotations

from pathlib import Path

from lstm_apps.apps.captioner.captions import CaptionedImages, read_coco, read_karpathy
from lstm_apps.apps.captioner.scenes import write_dataset
from lstm_apps.bounds import Positive, Seed
from lstm_apps.data.publish import publish_directory


class ScenesDataset:
    """The embedded default: generated once into ``directory``, then read as Karpathy JSON."""

    def __init__(
        self,
        directory: str,
        train_size: Positive = 4000,
        val_size: Positive = 200,
        test_size: Positive = 200,
        seed: Seed = 0,
    ) -> None:
        tag = f"seed{seed}-{train_size}-{val_size}-{test_size}"
        self.directory = Path(directory) / tag
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.seed = seed

    def prepare(self) -> None:
        """Draw the images unless present (``prepare_data()``; safe in several processes at once)."""
        publish_directory(
            self.directory,
            lambda folder: write_dataset(folder, self.sizes, self.seed),
            [self.directory / "dataset.json"],
        )

    def load(self) -> dict[str, CaptionedImages]:
        self.prepare()  # reads only, once prepare_data() has run
        return read_karpathy(self.directory / "dataset.json", self.directory)


class KarpathyDataset:
    """``dataset_coco.json`` / ``dataset_flickr8k.json`` with the images under ``image_root``."""

    def __init__(self, json_path: str, image_root: str) -> None:
        self.json_path, self.image_root = json_path, image_root

    def load(self) -> dict[str, CaptionedImages]:
        return read_karpathy(self.json_path, self.image_root, key="data.dataset.json_path")


class CocoDataset:
    """COCO caption annotation files, one per split (``test`` defaults to ``val``)."""

    def __init__(
        self,
        train_annotations: str,
        train_images: str,
        val_annotations: str,
        val_images: str,
        test_annotations: str | None = None,
        test_images: str | None = None,
    ) -> None:
        self.files = {
            "train": (train_annotations, train_images),
            "val": (val_annotations, val_images),
            "test": (test_annotations or val_annotations, test_images or val_images),
        }

    def load(self) -> dict[str, CaptionedImages]:
        return {
            split: read_coco(notes, images, key=f"data.dataset.{split}_annotations")
            for split, (notes, images) in self.files.items()
        }

"""``lstm-apps predict`` for the captioner: one image or a folder of images, captioned in batches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from lstm_apps.apps.captioner.datamodule import image_transform, load_image
from lstm_apps.apps.captioner.model import CaptionModel
from lstm_apps.bounds import Positive
from lstm_apps.errors import UserError
from lstm_apps.pipeline.predictor import Prediction, Predictor, exactly_one, existing_file

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


@dataclass
class CaptionerOptions:
    """The options of ``configs/predict/captioner.yaml``."""

    image: str | None = None
    image_dir: str | None = None
    beam_size: Positive = 5
    batch_size: Positive = 64


class ImageFiles(Dataset):
    """Image files as the model's normalised input tensors, with their position."""

    def __init__(self, paths: list[Path], image_size: int) -> None:
        self.paths = paths
        self.transform = image_transform(image_size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return load_image(self.paths[index], self.transform), index


class CaptionerPredictor(Predictor[CaptionModel, CaptionerOptions]):
    """Prints the caption of ``image``, or ``name<TAB>caption`` per image of ``image_dir``."""

    options_type = CaptionerOptions

    def predict(self) -> Prediction:
        options = self.options
        exactly_one(options, "image", "image_dir", "image=path or image_dir=folder")
        if options.image is not None:
            return Prediction(self.caption_files([existing_file(options.image, "image")])[0])
        root = Path(str(options.image_dir)).expanduser()
        if not root.is_dir():
            raise UserError(f"image_dir: folder not found: {root}")
        paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise UserError(f"image_dir: no images in {root}")
        captions = self.caption_files(paths)
        return Prediction("\n".join(f"{p.name}\t{c}" for p, c in zip(paths, captions, strict=True)))

    def caption_files(self, paths: list[Path]) -> list[str]:
        """One caption per image file, in order."""
        beam_size = self.options.beam_size

        def collate(items: list[tuple[torch.Tensor, int]]) -> dict[str, Any]:
            images, indices = zip(*items, strict=True)
            return {"images": torch.stack(images), "index": torch.tensor(indices), "beam_size": beam_size}

        loader = DataLoader(
            ImageFiles(paths, self.model.image_size), self.options.batch_size, collate_fn=collate
        )
        captions = dict(item for found in self.run_batches(loader) for item in found)
        return [captions[i] for i in range(len(paths))]


PREDICTOR = CaptionerPredictor

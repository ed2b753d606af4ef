"""``lstm-apps predict`` for the captioner: one image or a folder of images, captioned in batches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch.utils.data import DataLoader, Dataset

from lstm_apps.apps.captioner.datamodule import image_transform, load_image
from lstm_apps.apps.captioner.model import Caption, CaptionModel
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
    main_input = "image"
    inspection_options: ClassVar[dict[str, Any]] = {"beam_size": 1}

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
        loader = DataLoader(
            ImageFiles(paths, self.model.image_size),
            self.options.batch_size,
            collate_fn=lambda items: self.collate(items, self.options.beam_size, False),
        )
        captions = dict(item for found in self.run_batches(loader) for item in found)
        return [captions[i].text for i in range(len(paths))]

    def caption_images(
        self, images: list[torch.Tensor], beam_size: int, with_attention: bool
    ) -> list[Caption]:
        """One caption per normalised image tensor (``image_transform``'s), in batches."""
        size = self.options.batch_size
        batches = [
            self.collate(
                [(images[i], i) for i in range(start, min(start + size, len(images)))],
                beam_size,
                with_attention,
            )
            for start in range(0, len(images), size)
        ]
        captions = dict(item for found in self.run_batches(batches) for item in found)
        return [captions[i] for i in range(len(images))]

    @staticmethod
    def collate(
        items: list[tuple[torch.Tensor, int]], beam_size: int, with_attention: bool
    ) -> dict[str, Any]:
        images, indices = zip(*items, strict=True)
        return {
            "images": torch.stack(images),
            "index": torch.tensor(indices),
            "beam_size": beam_size,
            "with_attention": with_attention,
        }


PREDICTOR = CaptionerPredictor

"""Captioning data: images through torchvision transforms, captions through a word tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Annotated, Any, Protocol

import torch
from annotated_types import Ge
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from lstm_apps.apps.captioner.captions import CaptionedImages
from lstm_apps.bounds import Count, Positive
from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import AppDataModule
from lstm_apps.text.batching import pad_sequences
from lstm_apps.text.tokenizer import BOS, EOS, PAD, Tokenizer, fitted, tokenizer_from_json, train_tokenizer

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class CaptionSource(Protocol):
    def load(self) -> dict[str, CaptionedImages]: ...


def image_transform(image_size: int) -> v2.Compose:
    """Resize, centre-crop, scale to [0, 1] and normalise with the ImageNet statistics the
    torchvision backbones were trained with (used for the small CNN too, for one code path)."""
    return v2.Compose(
        [
            v2.ToImage(),
            v2.Resize(image_size, antialias=True),
            v2.CenterCrop(image_size),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


class ImageCache:
    """Transformed image tensors kept in memory after their first load (small data sets: the
    decode + resize + normalise work then happens once per image instead of once per step)."""

    def __init__(self, transform: v2.Compose, enabled: bool) -> None:
        self.transform, self.enabled = transform, enabled
        self.tensors: dict[Path, torch.Tensor] = {}

    def __call__(self, path: Path) -> torch.Tensor:
        if not self.enabled:
            return load_image(path, self.transform)
        if path not in self.tensors:
            self.tensors[path] = load_image(path, self.transform)
        return self.tensors[path]


def load_image(path: Path | IO[bytes], transform: v2.Compose, name: str | None = None) -> torch.Tensor:
    """The image at ``path`` (or in an open binary file, called ``name`` in errors), transformed."""
    try:
        with Image.open(path) as image:
            return transform(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise UserError(f"{name or path}: cannot read image ({err})") from None


class TrainPairs(Dataset):
    """One item per (image, caption): every reference caption is a training target."""

    def __init__(self, images: CaptionedImages, captions: list[list[list[int]]], load: ImageCache) -> None:
        self.items = [(i, c) for i, caps in enumerate(captions) for c in caps]
        self.images, self.captions, self.load = images, captions, load

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[int], int]:
        image, caption = self.items[index]
        return self.load(self.images[image][0]), caption, image


class EvalImages(Dataset):
    """One item per image (its references are looked up by index when scoring)."""

    def __init__(self, images: CaptionedImages, load: ImageCache) -> None:
        self.images, self.load = images, load

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[int], int]:
        return self.load(self.images[index][0]), [], index


class CaptionDataModule(AppDataModule):
    """``batch_size`` counts (image, caption) pairs per device for training, images for evaluation."""

    def __init__(
        self,
        dataset: CaptionSource,
        image_size: Annotated[int, Ge(16)] = 64,
        vocab_size: Positive = 10000,
        min_frequency: Positive = 1,
        max_caption_len: Positive = 30,
        batch_size: Positive = 64,
        eval_batch_size: Positive = 128,
        num_workers: Count = 0,
        cache_images: bool = True,
    ) -> None:
        super().__init__(source=dataset)
        self.dataset = dataset
        self.image_size = image_size
        self.vocab_size, self.min_frequency = vocab_size, min_frequency
        self.max_caption_len = max_caption_len
        self.batch_size, self.eval_batch_size, self.num_workers = batch_size, eval_batch_size, num_workers
        self.tokenizer: Tokenizer | None = None
        self.splits: dict[str, CaptionedImages] = {}
        self.transform = image_transform(image_size)
        self.images = ImageCache(self.transform, cache_images)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        self.splits = self.dataset.load()
        if self._fitted_state is not None:
            self.tokenizer = tokenizer_from_json(self._fitted_state["tokenizer"])
        else:
            texts = [c for _, refs in self.splits["train"] for c in refs]
            self.tokenizer = train_tokenizer(
                "word", texts, self.vocab_size, self.min_frequency, lowercase=True
            )

    def _tokenizer(self) -> Tokenizer:
        return fitted(self.tokenizer, "setup()")

    def fitted_state(self) -> dict[str, str]:
        return {"tokenizer": self._tokenizer().to_json()}

    def handoff(self) -> dict[str, Any]:
        tok = self._tokenizer()
        return {
            "vocab_size": tok.vocab_size,
            "pad_id": tok.token_id(PAD),
            "bos_id": tok.token_id(BOS),
            "eos_id": tok.token_id(EOS),
        }

    def references(self, split: str) -> list[list[str]]:
        return [refs for _, refs in self.splits[split]]

    def image_paths(self, split: str) -> list[Path]:
        return [path for path, _ in self.splits[split]]

    def _collate(self, items: list[tuple[torch.Tensor, list[int], int]]) -> dict[str, torch.Tensor]:
        ids = self.handoff()
        captions = [c[: self.max_caption_len] for _, c, _ in items]
        batch = {
            "images": torch.stack([image for image, _, _ in items]),
            "index": torch.tensor([i for _, _, i in items]),
        }
        if captions[0]:
            batch["tgt_in"], _ = pad_sequences([[ids["bos_id"], *c] for c in captions], ids["pad_id"])
            batch["tgt_out"], _ = pad_sequences([[*c, ids["eos_id"]] for c in captions], ids["pad_id"])
        return batch

    def _loader(self, dataset: Dataset, batch_size: int, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            collate_fn=self._collate,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory(),
        )

    def train_dataloader(self) -> DataLoader:
        images = self.splits["train"]
        tokenizer = self._tokenizer()
        encoded = [tokenizer.encode_batch(refs) for _, refs in images]
        return self._loader(TrainPairs(images, encoded, self.images), self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(EvalImages(self.splits["val"], self.images), self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(EvalImages(self.splits["test"], self.images), self.eval_batch_size, shuffle=False)

"""Image encoders: feature-grid shapes for every backbone, and what fine-tuning leaves trainable."""

from __future__ import annotations

import pytest
import torch

from lstm_apps.core.image_encoder import ImageEncoder
from lstm_apps.errors import UserError


@pytest.mark.parametrize(
    "backbone,channels",
    [("small", 64), ("resnet18", 512), ("resnet34", 512), ("resnet50", 2048), ("resnet101", 2048)],
)
def test_feature_grid_shape(backbone: str, channels: int) -> None:
    encoder = ImageEncoder(backbone, grid_size=3, channels=64).eval()
    with torch.no_grad():
        features = encoder(torch.randn(2, 3, 64, 64))
    assert features.shape == (2, 9, channels) and encoder.output_size == channels


def test_trainable_blocks_freeze_the_rest() -> None:
    encoder = ImageEncoder("resnet18", trainable_blocks=1)
    trainable = {name.split(".")[0] for name, p in encoder.body.named_parameters() if p.requires_grad}
    assert trainable == {"7"}  # layer4 is the last stage of the cut ResNet
    assert all(p.requires_grad for p in ImageEncoder("resnet18", trainable_blocks=-1).parameters())


def test_unknown_backbone_names_the_key() -> None:
    with pytest.raises(UserError, match="model.encoder.backbone"):
        ImageEncoder("vgg16")

"""CNN image encoders that turn an image into a grid of feature vectors to attend over."""

from __future__ import annotations

from typing import Literal

import torch
import torchvision
from torch import nn

from lstm_apps.bounds import AtLeastMinusOne, Positive
from lstm_apps.errors import UserError

RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _small_cnn(channels: int) -> tuple[nn.Module, int]:
    """Four conv blocks (stride 2 each): enough for synthetic scenes, fast on a laptop CPU."""
    layers: list[nn.Module] = []
    width_in = 3
    for width in (channels // 4, channels // 2, channels, channels):
        layers += [
            nn.Conv2d(width_in, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]
        width_in = width
    return nn.Sequential(*layers), channels


class ImageEncoder(nn.Module):
    """``[B, 3, H, W]`` images -> ``[B, grid_size**2, output_size]`` region features.

    ``backbone``: ``small`` (trained from scratch) or a torchvision ResNet cut before its pooling
    layer. ``weights``: None, or a torchvision weights name such as ``DEFAULT`` (downloaded by
    torchvision when online). ``trainable_blocks``: how many of the last ResNet stages
    (``layer4``, ``layer3`` …) are fine-tuned; ``-1`` trains everything; the small CNN always trains.
    """

    def __init__(
        self,
        backbone: Literal["small", "resnet18", "resnet34", "resnet50", "resnet101"] = "small",
        weights: str | None = None,
        grid_size: Positive = 4,
        trainable_blocks: AtLeastMinusOne = -1,
        channels: Positive = 128,
    ) -> None:
        super().__init__()
        self.grid_size = grid_size
        if backbone == "small":
            self.body, self.output_size = _small_cnn(channels)
        elif backbone in RESNETS:
            try:
                net = getattr(torchvision.models, backbone)(weights=weights)
            except (OSError, RuntimeError, ValueError) as err:
                raise UserError(
                    f"model.encoder.weights: cannot load '{weights}' for {backbone}: {err}"
                ) from None
            self.output_size = net.fc.in_features
            self.body = nn.Sequential(*list(net.children())[:-2])
            self._freeze(trainable_blocks)
        else:
            raise UserError(
                f"model.encoder.backbone: must be one of small, {', '.join(RESNETS)}; got {backbone!r}"
            )
        self.pool = nn.AdaptiveAvgPool2d(grid_size)

    def _freeze(self, trainable_blocks: int) -> None:
        if trainable_blocks < 0:
            return
        for parameter in self.body.parameters():
            parameter.requires_grad = False
        stages = [m for m in self.body.children() if isinstance(m, nn.Sequential)]  # layer1 … layer4
        for stage in stages[len(stages) - trainable_blocks :] if trainable_blocks else []:
            for parameter in stage.parameters():
                parameter.requires_grad = True

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        grid = self.pool(self.body(images))  # [B, C, N, N]
        return grid.flatten(2).transpose(1, 2)  # [B, N*N, C]

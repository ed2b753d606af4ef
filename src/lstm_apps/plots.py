"""Kinds of picture any app may show in TensorBoard, as ``[3, H, W]`` tensors in [0, 1]: confusion
matrices and highlighted text drawn off-screen with matplotlib (``figure_image`` renders an app's
own figure, such as the forecaster's), attention heatmaps, attention over images and heatmaps
painted with tensor ops (no plotting library needed)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def new_figure(width: float, height: float, dpi: int = 100):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi)


def figure_image(fig) -> torch.Tensor:
    """Render a matplotlib figure into an RGB tensor."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype=np.float32) / 255.0
    return torch.from_numpy(rgba[..., :3].copy()).permute(2, 0, 1)


def confusion_matrix_image(matrix: torch.Tensor, labels: Sequence[str]) -> torch.Tensor:
    """Rows: true class, columns: predicted class; cells coloured by row share, counts written."""
    counts = matrix.detach().cpu().double()
    shares = counts / counts.sum(1, keepdim=True).clamp(min=1)
    size = max(4.0, 0.45 * len(labels) + 2)
    fig = new_figure(size, size)
    ax = fig.add_subplot()
    ax.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (row, col), value in np.ndenumerate(counts.numpy()):
        if value:
            colour = "white" if shares[row, col] > 0.5 else "black"
            ax.text(col, row, f"{int(value)}", ha="center", va="center", fontsize=6, color=colour)
    fig.tight_layout()
    return figure_image(fig)


def highlighted_text_image(rows: Sequence[tuple[str, Sequence[str], Sequence[float]]]) -> torch.Tensor:
    """One line per example: a caption, then its tokens on a background as strong as their weight."""
    width_chars = 110
    lines: list[tuple[str, list[tuple[str, float]]]] = []
    for caption, tokens, weights in rows:
        top = max(weights, default=1.0) or 1.0
        current: list[tuple[str, float]] = []
        used = 0
        lines.append((caption, []))
        for token, weight in zip(tokens, weights, strict=True):
            if used + len(token) + 1 > width_chars and current:
                lines.append(("", current))
                current, used = [], 0
            current.append((token, weight / top))
            used += len(token) + 1
        if current:
            lines.append(("", current))
    fig = new_figure(11, 0.22 * len(lines) + 0.3)
    renderer_step = 1.0 / max(len(lines), 1)
    for i, (caption, pieces) in enumerate(lines):
        y = 1 - (i + 0.8) * renderer_step
        if caption:
            fig.text(0.01, y, caption, fontsize=8, weight="bold", family="monospace")
            continue
        x = 0.02
        for token, strength in pieces:
            fig.text(
                x,
                y,
                token,
                fontsize=8,
                family="monospace",
                bbox={"facecolor": (1.0, 0.55, 0.0, float(strength) * 0.9), "edgecolor": "none", "pad": 0.5},
            )
            x += (len(token) + 1) / width_chars * 0.96
    return figure_image(fig)


def attention_heatmap(weights: torch.Tensor, cell: int = 12) -> torch.Tensor:
    """``[rows, cols]`` weights in [0, 1] -> ``[3, rows*cell, cols*cell]`` RGB image.

    Dark blue for 0 through yellow for the row maximum (per row, so weak rows stay readable);
    one square per (output step, input position) pair, rows top to bottom.
    """
    w = weights.float().clamp(min=0)
    w = w / w.amax(dim=1, keepdim=True).clamp(min=1e-8)
    low = torch.tensor([0.07, 0.04, 0.33]).view(3, 1, 1)
    high = torch.tensor([0.99, 0.91, 0.15]).view(3, 1, 1)
    image = low + (high - low) * w.unsqueeze(0)
    return image.repeat_interleave(cell, dim=1).repeat_interleave(cell, dim=2).clamp(0, 1)


def attention_overlay(
    image: torch.Tensor, attention: torch.Tensor, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """The image, then one copy per generated word with that word's attention overlaid.

    ``image`` is ``[3, H, W]`` normalised with per-channel ``mean`` and ``std``; ``attention``
    ``[words, N*N]``. Returns ``[3, H, W * (1 + words)]``.
    """
    picture = (image * torch.tensor(std).view(3, 1, 1) + torch.tensor(mean).view(3, 1, 1)).clamp(0, 1)
    side = int(round(attention.size(-1) ** 0.5))
    panels = [picture]
    for weights in attention.float():
        grid = weights.view(1, 1, side, side)
        heat = F.interpolate(grid / grid.max().clamp(min=1e-8), size=picture.shape[1:], mode="bilinear")[0]
        panels.append(
            (
                0.35 * picture + 0.65 * heat.expand(3, -1, -1) * torch.tensor([1.0, 0.85, 0.2]).view(3, 1, 1)
            ).clamp(0, 1)
        )
    return torch.cat(panels, dim=2)


def heatmap_image(values: torch.Tensor, cell: int = 2) -> torch.Tensor:
    """``[rows, cols]`` values -> ``[3, rows*cell, cols*cell]`` RGB image, row 0 at the bottom
    (a spectrogram's low frequencies, a posteriorgram's first unit), scaled from the minimum
    (dark blue) to the maximum (yellow) of the whole array. Tensor ops only: cheap enough for
    every validation."""
    v = values.float()
    v = (v - v.min()) / (v.max() - v.min()).clamp(min=1e-8)
    low = torch.tensor([0.07, 0.04, 0.33]).view(3, 1, 1)
    high = torch.tensor([0.99, 0.91, 0.15]).view(3, 1, 1)
    image = low + (high - low) * v.flip(0).unsqueeze(0)
    return image.repeat_interleave(cell, dim=1).repeat_interleave(cell, dim=2).clamp(0, 1)

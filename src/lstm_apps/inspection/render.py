"""Cells drawn over an input: for text, each step's piece of text on a background coloured by the
cell's value (Karpathy's picture: blue negative, red positive); for audio, series and music, a
heatmap of the cells over time. Written as one HTML page and PNGs."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from lstm_apps.inspection.features import Correlated
from lstm_apps.plots import new_figure


def _colour(value: float) -> str:
    """``value`` in [-1, 1] as a background: blue below zero, red above, white at zero."""
    strength = min(abs(value), 1.0)
    fade = int(255 * (1 - strength))
    return f"rgb(255,{fade},{fade})" if value > 0 else f"rgb({fade},{fade},255)"


def _scaled(values: np.ndarray) -> np.ndarray:
    """A cell's values divided by their largest magnitude (tanh-bounded ``h`` stays as it is)."""
    top = float(np.abs(values).max()) if values.size else 0.0
    return values / top if top > 1.0 else values


def text_html(steps: list[str], cells: dict[str, np.ndarray]) -> str:
    """One block per cell: the input's pieces, each coloured by the cell's value there."""
    blocks = []
    for name, values in cells.items():
        spans = "".join(
            f'<span style="background:{_colour(v)}" title="{raw:+.3f}">{html.escape(piece)}</span>'
            for piece, v, raw in zip(steps, _scaled(values), values, strict=True)
        )
        blocks.append(f'<h3>{html.escape(name)}</h3><pre class="cell">{spans}</pre>')
    return "\n".join(blocks)


def text_png(
    steps: list[str], cells: dict[str, np.ndarray], path: Path, width: int = 100, limit: int = 600
) -> None:
    """The same picture as an image: one band of text per cell, wrapped at ``width`` characters,
    the first ``limit`` characters (a character is one drawn box; the HTML page has them all)."""
    import matplotlib.colors

    lines_per_cell = []
    for values in cells.values():
        lines: list[list[tuple[str, float]]] = [[]]
        used = drawn = 0
        for piece, value in zip(steps, _scaled(values), strict=True):
            if drawn >= limit:
                break
            drawn += len(piece)
            for char in piece:
                if char == "\n" or used >= width:
                    lines.append([])
                    used = 0
                if char != "\n":
                    lines[-1].append((char, float(value)))
                    used += 1
        lines_per_cell.append(lines)
    rows = sum(len(lines) + 1 for lines in lines_per_cell)
    fig = new_figure(width * 0.075 + 0.4, 0.2 * rows + 0.3)
    cmap = matplotlib.colormaps["bwr"]
    row = 0
    for name, lines in zip(cells, lines_per_cell, strict=True):
        fig.text(0.01, 1 - (row + 0.8) / rows, name, fontsize=8, weight="bold", family="monospace")
        row += 1
        for line in lines:
            y = 1 - (row + 0.8) / rows
            for column, (char, value) in enumerate(line):
                fig.text(
                    0.01 + column / (width + 4),
                    y,
                    char if char.strip() else "\u00a0",
                    fontsize=8,
                    family="monospace",
                    bbox={"facecolor": cmap((value + 1) / 2), "edgecolor": "none", "pad": 0.6},
                )
            row += 1
    fig.savefig(path)


def _centred(values: np.ndarray) -> np.ndarray:
    """A cell's values about their mean, scaled to [-1, 1]: how it moves over the input shows even
    where it moves little about a large value."""
    moved = values - values.mean()
    top = float(np.abs(moved).max()) if moved.size else 0.0
    return moved / top if top > 0 else moved


def heatmap_png(cells: dict[str, np.ndarray], path: Path) -> None:
    """Cells (rows) over time (columns), each about its mean, scaled to [-1, 1]."""
    matrix = np.stack([_centred(values) for values in cells.values()]) if cells else np.zeros((1, 1))
    fig = new_figure(min(4 + matrix.shape[1] * 0.05, 16), 1.2 + 0.35 * len(cells))
    ax = fig.add_subplot()
    ax.imshow(matrix, aspect="auto", cmap="bwr", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(cells)), list(cells), fontsize=7)
    ax.set_xlabel("step (each cell about its mean: blue below, red above)")
    fig.tight_layout()
    fig.savefig(path)


def findings_html(ranked: dict[str, list[Correlated]], note: str = "") -> str:
    rows = "".join(
        f"<tr><td>{html.escape(f.feature)}</td><td>{html.escape(f.cell)}</td><td>{f.r:+.3f}</td></tr>"
        for found in ranked.values()
        for f in found
    )
    return (
        f"<h2>Cells that track features of the input</h2><p>{html.escape(note)}</p>"
        f"<table><tr><th>feature</th><th>cell</th><th>r</th></tr>{rows}</table>"
    )


def page(title: str, body: str) -> str:
    style = (
        "body{font-family:sans-serif;margin:1.5em}pre.cell{white-space:pre-wrap;font-size:13px;"
        "line-height:1.5}td,th{padding:2px 10px;text-align:left}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )

"""The forecaster's picture in TensorBoard: a window's input, then actual against forecast."""

from __future__ import annotations

import numpy as np
import torch

from lstm_apps.plots import figure_image, new_figure


def forecast_image(
    history: np.ndarray,
    actual: np.ndarray,
    predicted: np.ndarray,
    interval: tuple[np.ndarray, np.ndarray] | None = None,
    title: str = "",
) -> torch.Tensor:
    """The window's input, then actual vs forecast over the horizon (with the interval, if any).

    Drawn often, so kept cheap (~45 ms instead of ~65 ms on a 2-core CPU, and a smaller PNG for
    TensorBoard to encode): 400 x 200 pixels, fixed margins instead of ``tight_layout``, a fixed
    title position (the automatic one measures every tick label) and at most five ticks per axis."""
    from matplotlib.ticker import MaxNLocator

    fig = new_figure(5, 2.5, dpi=80)
    fig.subplots_adjust(left=0.11, right=0.98, top=0.9, bottom=0.17)
    ax = fig.add_subplot()
    past = np.arange(-len(history), 0)
    future = np.arange(len(actual))
    ax.plot(past, history, color="0.4", label="input")
    ax.plot(future, actual, color="black", label="actual")
    ax.plot(future, predicted, color="tab:orange", label="forecast")
    if interval is not None:
        ax.fill_between(future, interval[0], interval[1], color="tab:orange", alpha=0.25, label="interval")
    ax.axvline(-0.5, color="0.7", linewidth=0.8)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(5))
    ax.tick_params(labelsize=7)
    ax.set_xlabel("steps from the forecast origin", fontsize=8)
    ax.set_title(title, fontsize=9, y=1.0)
    ax.legend(fontsize=7, loc="upper left")
    return figure_image(fig)

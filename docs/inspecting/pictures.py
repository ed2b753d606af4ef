"""The pictures of docs/inspecting.md from a run trained with ``callbacks=inspect``: the last
learning-signal image it wrote, and each gate's saturation over training.

    python docs/inspecting/pictures.py RUN_DIR PREFIX     # e.g. runs/textgen/… docs/inspecting/textgen
"""

from __future__ import annotations

import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lstm_apps.plots import new_figure


def main(run: Path, prefix: str) -> None:
    scalars: dict[str, list[tuple[int, float]]] = {}
    image = None
    for events in sorted(run.rglob("events.out.tfevents*")):
        accumulator = EventAccumulator(str(events), size_guidance={"scalars": 0, "images": 0})
        accumulator.Reload()
        tags = accumulator.Tags()
        for tag in tags.get("scalars", []):
            if tag.endswith(("_saturated_low", "_saturated_high")):
                scalars[tag] = [(e.step, e.value) for e in accumulator.Scalars(tag)]
        if "inspect/learning_signal" in tags.get("images", []):
            image = accumulator.Images("inspect/learning_signal")[-1]
    if image is not None:
        Path(f"{prefix}_signal.png").write_bytes(image.encoded_image_string)
        print(f"{prefix}_signal.png (step {image.step})")
    layers = sorted({tag.split("/")[2] for tag in scalars})
    if not layers:
        return
    fig = new_figure(4.2 * len(layers), 3.2)
    for column, layer in enumerate(layers, start=1):
        ax = fig.add_subplot(1, len(layers), column)
        for tag, points in sorted(scalars.items()):
            if tag.split("/")[2] != layer:
                continue
            gate, side = tag.rsplit("/", 1)[1].rsplit("_saturated_", 1)
            steps, values = zip(*points, strict=True)
            ax.plot(
                steps,
                values,
                label=f"{gate} {'< 0.1' if side == 'low' else '> 0.9'}",
                linestyle="-" if side == "high" else "--",
            )
        ax.set_title(layer, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
        if column == 1:
            ax.set_ylabel("share of activations", fontsize=8)
            ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(f"{prefix}_saturation.png")
    print(f"{prefix}_saturation.png")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])

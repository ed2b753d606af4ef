"""The cell comparison's table from the runs of ``lstm-apps train -m experiment=music_jsb_cells``:
per cell, test NLL (mean ± sample standard deviation over the seeds, and each seed's), frame
accuracy, parameters and seconds per epoch (the median epoch of every run of that cell).

    python apps/music/cell_table.py runs/music/multirun/<time> [more sweeps' folders]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

import torch
import yaml

EPOCH_TIME = re.compile(r"epoch \d+ \(([0-9.]+)s")


def run_row(folder: Path) -> dict | None:
    """One run's cell, seed, test scores, parameter count and epoch times; None if unfinished."""
    metrics_file, config_file = folder / "metrics.json", folder / "config.yaml"
    if not metrics_file.is_file() or not config_file.is_file():
        return None
    summary = json.loads(metrics_file.read_text())
    config = yaml.safe_load(config_file.read_text())
    checkpoint = torch.load(summary["best_checkpoint"], map_location="cpu", weights_only=True)
    parameters = sum(
        v.numel() for k, v in checkpoint["state_dict"].items() if k.startswith("net.") and "mask" not in k
    )
    log = (folder / "train.log").read_text() if (folder / "train.log").is_file() else ""
    return {
        "cell": config["model"]["cell"],
        "hidden": config["model"]["hidden_size"],
        "seed": config["seed"],
        "nll": summary["metrics"]["test/nll"],
        "accuracy": summary["metrics"]["test/frame_accuracy"],
        "parameters": parameters,
        "epoch_times": [float(t) for t in EPOCH_TIME.findall(log)[1:]],  # the first epoch warms up
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| cell | hidden | parameters | test NLL (nats/step), mean ± sd | per seed | frame accuracy | s / epoch |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for cell in dict.fromkeys(r["cell"] for r in rows):  # in the order the sweep ran them
        runs = sorted((r for r in rows if r["cell"] == cell), key=lambda r: r["seed"])
        if not runs:
            continue
        nll = [r["nll"] for r in runs]
        spread = statistics.stdev(nll) if len(nll) > 1 else 0.0
        times = [t for r in runs for t in r["epoch_times"]]
        lines.append(
            f"| {cell} | {runs[0]['hidden']} | {runs[0]['parameters']:,} | "
            f"{statistics.mean(nll):.3f} ± {spread:.3f} | {', '.join(f'{v:.3f}' for v in nll)} | "
            f"{statistics.mean(r['accuracy'] for r in runs):.3f} | "
            f"{statistics.median(times) if times else float('nan'):.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "multirun", type=Path, nargs="+", help="sweeps' folders (each holds one folder per run)"
    )
    args = parser.parse_args()
    rows = [
        row
        for sweep in args.multirun
        for folder in sorted(sweep.iterdir(), key=lambda f: (len(f.name), f.name))  # 2 before 10
        if folder.is_dir() and (row := run_row(folder))
    ]
    if not rows:
        raise SystemExit(f"{args.multirun[0]}: no finished runs (metrics.json and config.yaml) under it")
    print(table(rows))


if __name__ == "__main__":
    main()

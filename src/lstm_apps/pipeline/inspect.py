"""``inspect(cfg)``: the cells of a trained model over one input, drawn and (``find=true``) ranked
by how well they track simple features of the input (docs/inspecting.md)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from lstm_apps.config_ranges.declared import INSPECT
from lstm_apps.errors import UserError
from lstm_apps.folders import output_folder
from lstm_apps.inspection import render
from lstm_apps.inspection.cells import (
    as_named,
    block_cells,
    checked_cells,
    chosen_block,
    chosen_cells,
    most_varying,
    run_inspected,
)
from lstm_apps.inspection.features import Correlated, chance_level, rank_cells, text_features
from lstm_apps.pipeline.build import plain_dict
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.numerics import apply_matmul_precision
from lstm_apps.pipeline.predictor import COMMON_KEYS, predictor_for, read_options

# The inspect command's own keys: everything else is the app's predict options.
OWN_KEYS = (*INSPECT, "input", "ckpt_path", "task_name")


def main_input(value: Any) -> str:
    """``input=`` as the app receives it: the text of a file for ``@path``."""
    text = str(value)
    if not text.startswith("@"):
        return text
    path = Path(text[1:]).expanduser()
    if not path.is_file():
        raise UserError(f"input: file not found: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"input: {path} is not UTF-8 text") from None


def app_options(app: str, values: dict[str, Any]) -> Any:
    """The app's predict options from the command's values, ``input=`` set as its main input and
    the predictor's ``inspection_options`` where the values are the options' defaults (a
    generator writes one token, a beam search keeps one hypothesis: row 0 is the input's)."""
    predictor = predictor_for(app)
    own = {k: v for k, v in values.items() if k not in OWN_KEYS or k in predictor_option_names(predictor)}
    defaults = {f.name: f.default for f in dataclasses.fields(predictor.options_type)}
    for key, value in predictor.inspection_options.items():  # unless set to something else
        if own.get(key, defaults.get(key)) == defaults.get(key):
            own[key] = value
    given = values.get("input")
    if given is not None:
        if predictor.main_input is None:
            raise UserError(f"input: the {app} app reads its input from its own options, not input=")
        own[predictor.main_input] = main_input(given)
    return read_options(app, {k: v for k, v in own.items() if k not in COMMON_KEYS})


def predictor_option_names(predictor: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(predictor.options_type)}


def best_cells(
    ranked: dict[str, list[Correlated]], candidates: dict[str, np.ndarray], count: int
) -> dict[str, np.ndarray]:
    """Up to ``count`` cells: each feature's best first, then each one's next best, named with
    the feature they track and their r."""
    drawn: dict[str, np.ndarray] = {}
    seen: set[str] = set()
    for rank in range(max(len(found) for found in ranked.values())):
        for found in ranked.values():
            if rank < len(found) and found[rank].cell not in seen and len(drawn) < count:
                best = found[rank]
                seen.add(best.cell)
                group, index = best.cell.rsplit("[", 1)
                drawn[f"{best.cell} ({best.feature} r={best.r:+.2f})"] = candidates[group][:, int(index[:-1])]
    return drawn


def inspect(cfg: DictConfig) -> dict[str, Any]:
    """Run, draw, rank, print; returns what was found (for tests and the docs' tables)."""
    apply_matmul_precision(cfg)
    info = read_checkpoint(cfg.ckpt_path, expected_app=cfg.get("expected_app"))
    options = app_options(info.app, plain_dict(cfg))
    out = output_folder(Path(str(cfg.output_dir)).expanduser(), "output_dir")
    device = str(cfg.device or "cpu")
    model = model_from_checkpoint(info).to(device).eval()
    run = run_inspected(predictor_for(info.app)(model, options, device, direct=True))
    record = chosen_block(run, cfg.block)
    cells = chosen_cells(record, cfg.layer, str(cfg.direction), str(cfg.state))
    wanted = checked_cells(cells, None if cfg.cells is None else list(cfg.cells))
    steps = run.steps
    if steps is not None:  # the pieces and the steps both cover
        steps = steps[: cells.values.shape[0]]
        cells.values = cells.values[: len(steps)]

    # Every layer, direction and state of the block, over the steps drawn.
    candidates = {c.name: c.values[: cells.values.shape[0]] for c in block_cells(record)}
    ranked: dict[str, list[Correlated]] = {}
    note = ""
    if cfg.find:
        features = dict(text_features(steps)) if steps is not None else {}
        features.update(
            {k: np.asarray(v, dtype=float)[: cells.values.shape[0]] for k, v in run.features.items()}
        )
        ranked = rank_cells(candidates, features, int(cfg.top))
        if not ranked:
            print("find: no feature of this input varies (nothing to correlate cells with)")
        else:
            units = sum(values.shape[1] for values in candidates.values())
            chance = chance_level(units, cells.values.shape[0])
            print(
                f"find: {units} cells over {cells.values.shape[0]} steps; by chance alone the best |r| is about {chance:.2f}"
            )
        for feature, found in ranked.items():
            best = ", ".join(f"{f.cell} r={f.r:+.3f}" for f in found)
            print(f"{feature:<18} {best}")
    if wanted is not None:
        drawn = as_named(cells, wanted)
    elif ranked:  # the best cell of each feature, then the next best, wherever they are
        drawn = best_cells(ranked, candidates, int(cfg.top))
    else:
        wanted = most_varying(cells, int(cfg.top))
        drawn = as_named(cells, wanted)

    title = f"{info.app}: {record.name}" + (f" {cells.name}" if wanted is not None else "")
    png = out / "cells.png"
    if steps is not None:
        render.text_png(steps, drawn, png)
        body = render.text_html(steps, drawn)
    else:
        render.heatmap_png(drawn, png)
        body = f'<img src="{png.name}" alt="cells over time">'
    if ranked:
        body = render.findings_html(ranked, note) + body
    html_path = out / "cells.html"
    html_path.write_text(render.page(title, body), encoding="utf-8")
    print(f"page: {html_path}\npicture: {png}", flush=True)
    return {
        "block": record.name,
        "state": cells.name,
        "cells": list(drawn),
        "found": {k: [(f.cell, f.r) for f in v] for k, v in ranked.items()},
        "page": str(html_path),
        "picture": str(png),
    }

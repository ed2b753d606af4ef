"""What ``lstm-apps inspect`` and the playground's "inside" view share: a trained app run on one
input through its own predictor with every recurrent block replayed, and the cells of one block,
layer, direction and state picked out of the replay (row 0 of its batch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lstm_apps.errors import UserError
from lstm_apps.inspection.replay import BlockRecord, replaying


@dataclass
class InspectedRun:
    """One input's run: the prediction, the replayed blocks, and what the app says about the
    input's steps (the text of each step, extra per-step features)."""

    prediction: Any  # the predictor's Prediction
    records: list[BlockRecord]
    steps: list[str] | None
    features: dict[str, np.ndarray] = field(default_factory=dict)


def run_inspected(predictor: Any) -> InspectedRun:
    """``predictor.predict()`` (an app's ``Predictor``) with every recurrent block of its model
    replayed step by step."""
    with torch.no_grad(), replaying(predictor.model) as records:
        prediction = predictor.predict()
    steps = predictor.inspection_steps(prediction)
    features = predictor.inspection_features(prediction)
    return InspectedRun(prediction, [r for r in records if r.calls], steps, features)


def chosen_block(run: InspectedRun, name: str | None) -> BlockRecord:
    """The block called ``name``; without one, the block whose sequence has as many steps as the
    input has pieces (the one the input runs through), else the first one called."""
    if not run.records:
        raise UserError("inspect: the model ran no recurrent block on this input")
    if name is not None:
        for record in run.records:
            if record.name == name:
                return record
        names = ", ".join(r.name for r in run.records)
        raise UserError(f"block: the model has no recurrent block {name!r} that ran (blocks: {names})")
    if run.steps is not None:
        for record in run.records:
            if record.output().size(1) == len(run.steps):
                return record
    return run.records[0]


@dataclass
class CellValues:
    """The values ``[T, units]`` of every cell of one state of one layer-direction, for row 0."""

    name: str  # "layer1 c", "layer0_backward h"
    values: np.ndarray


def block_cells(record: BlockRecord, steps: int | None = None) -> list[CellValues]:
    """Every layer-direction and state of ``record`` (row 0, its real steps)."""
    lengths = record.lengths()
    length = int(lengths[0]) if lengths is not None else record.output().size(1)
    if steps is not None:
        length = min(length, steps)
    found = []
    for trace in record.directions():
        for state, values in trace.states.items():
            found.append(CellValues(f"{trace.label} {state}", values[0, :length].float().cpu().numpy()))
    return found


def chosen_cells(record: BlockRecord, layer: int | None, direction: str, state: str) -> CellValues:
    """One layer-direction's state: one line naming what exists where the choice does not."""
    block = record.block
    last = block.num_layers - 1
    layer = last if layer is None else layer
    if layer > last:
        raise UserError(f"layer: {record.name} has no layer {layer} (its layers: 0-{last})")
    if direction == "backward" and not block.bidirectional:
        raise UserError(f"direction: {record.name} is not bidirectional (direction=forward only)")
    label = f"layer{layer}" + ("_backward" if direction == "backward" else "")
    options = {cells.name: cells for cells in block_cells(record) if cells.name.startswith(label + " ")}
    if state == "auto":
        state = "c" if f"{label} c" in options else "h"
    if f"{label} {state}" not in options:
        raise UserError(f"state: the {block.cell} cell keeps no per-unit {state!r} (state=h)")
    return options[f"{label} {state}"]


def checked_cells(cells: CellValues, wanted: list[int] | None) -> list[int] | None:
    """``wanted`` indices, each one a cell of ``cells``, or one line saying which exist."""
    if wanted is None:
        return None
    units = cells.values.shape[1]
    for index in wanted:
        if not 0 <= int(index) < units:
            raise UserError(f"cells: {index} is not a cell of {cells.name} (it has {units}: 0-{units - 1})")
    return [int(i) for i in wanted]


def most_varying(cells: CellValues, count: int) -> list[int]:
    """The ``count`` cells whose values vary most over the input."""
    return [int(i) for i in np.argsort(-cells.values.std(0))[:count]]


def as_named(cells: CellValues, indices: list[int]) -> dict[str, np.ndarray]:
    return {f"{cells.name}[{i}]": cells.values[:, i] for i in indices}


def jsonable(run: InspectedRun, cells: CellValues) -> dict[str, Any]:
    """The steps and every cell's values of one state, for the playground."""
    steps = run.steps or [str(i) for i in range(cells.values.shape[0])]
    length = min(len(steps), cells.values.shape[0])
    return {
        "steps": steps[:length],
        "state": cells.name,
        "values": np.round(cells.values[:length].T, 4).tolist(),  # [units][steps]
    }

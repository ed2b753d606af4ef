"""The recurrence seen from inside (docs/inspecting.md): the step-by-step replay of every cell, the
learning-signal curves, text features and the ranking of cells, and ``callbacks=inspect``'s
TensorBoard output and gradient-health warnings on a toy model (every app: the contract test)."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn

from helpers.config import compose_config
from lstm_apps.callbacks.inspect import InspectRecurrence
from lstm_apps.core.cell_trace import GATES, trace_block
from lstm_apps.core.recurrent import RecurrentBlock
from lstm_apps.inspection.features import chance_level, correlations, rank_cells, text_features
from lstm_apps.inspection.replay import replaying
from lstm_apps.inspection.signal import signal_curves, steps_to_fall_below

CELLS = list(GATES)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return all(_close(x, y) for x, y in zip(a, b, strict=True))
    return torch.allclose(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("cell", "bidirectional"), itertools.product(CELLS, [False, True]))
def test_the_replay_gives_the_blocks_output_and_final_state(cell: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    block = RecurrentBlock(5, 8, 2, cell, bidirectional).eval()  # type: ignore[arg-type]
    x, lengths = torch.randn(3, 7, 5), torch.tensor([7, 4, 2])
    _, start = block(torch.randn(3, 3, 5))
    for state in (None, start):
        output, final = block(x, lengths, state)
        trace = trace_block(block, x, lengths, state)
        assert _close(trace.output, output) and _close(trace.final_state, final), (cell, state is None)
    assert len(trace.directions) == 2 * block.num_directions
    for direction in trace.directions:
        assert set(direction.gates) == set(GATES[cell])
        for gate in direction.gates.values():
            assert gate.shape == (3, 7, 8) and bool(((gate >= 0) & (gate <= 1)).all())
        assert direction.states["h"].shape == (3, 7, 8)
        assert ("c" in direction.states) == (cell in ("lstm", "slstm"))
    assert torch.equal(trace.directions[0].states["h"][1, 4:], torch.zeros(3, 8))  # padded steps


def test_the_replay_of_an_lstm_with_a_projection() -> None:
    block = RecurrentBlock(4, 8, 2, "lstm", proj_size=3).eval()
    x = torch.randn(2, 5, 4)
    output, final = block(x, torch.tensor([5, 3]))
    trace = trace_block(block, x, torch.tensor([5, 3]))
    assert _close(trace.output, output) and _close(trace.final_state, final)
    assert trace.directions[0].states["h"].shape[-1] == 3 and trace.directions[0].states["c"].shape[-1] == 8


class _Reader(nn.Module):
    """A block and a head whose loss reads the last real step alone."""

    def __init__(self, cell: str) -> None:
        super().__init__()
        self.rnn = RecurrentBlock(3, 8, 2, cell)  # type: ignore[arg-type]
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x, lengths)
        return self.head(out[torch.arange(x.size(0)), lengths - 1]).pow(2).mean()


def _curves(model: nn.Module) -> list[Any]:
    x, lengths = torch.randn(4, 40, 3), torch.tensor([40, 35, 30, 40])
    with replaying(model) as records:
        loss = model(x, lengths)
    return signal_curves(loss, records)


def test_the_learning_signal_dies_at_once_without_a_recurrence_and_lives_through_a_remembering_lstm() -> None:
    torch.manual_seed(0)
    cut = _Reader("rnn")
    with torch.no_grad():
        for name, param in cut.rnn.rnn.named_parameters():
            if name.startswith("weight_hh"):
                param.zero_()  # nothing flows from one step to the next
    curves = _curves(cut)
    assert [c.label for c in curves] == ["layer0", "layer1"]
    assert all(steps_to_fall_below(c.relative, 1e-3) == 1 for c in curves)
    remembering = _Reader("lstm")
    with torch.no_grad():  # forget gates wide open, input and output gates steady
        for name, param in remembering.rnn.rnn.named_parameters():
            if name.startswith("bias_ih"):
                param[8:16].fill_(20.0)
    for curve in _curves(remembering):
        assert steps_to_fall_below(curve.relative, 1e-3) is None, curve
        assert float(curve.relative[20]) > 0.01


def test_text_features_follow_quotes_brackets_lines_and_indentation() -> None:
    steps = list('say "hi (x)"\n    f(a[0])')
    features = text_features(steps)
    assert features["inside_quotes"].tolist()[:13] == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    assert features["bracket_depth"][steps.index("[") + 1] == 2  # f( a[ 0
    assert features["position_in_line"][13:17].tolist() == [0, 1, 2, 3]
    assert set(features["indentation"][:13]) == {0} and set(features["indentation"][13:]) == {4}
    words = ["print(", '"a ', 'b")']  # pieces longer than a character: the value at their start
    assert text_features(words)["inside_quotes"].tolist() == [0, 1, 1]


def test_the_chance_level_is_what_the_best_of_unrelated_cells_reaches() -> None:
    rng = np.random.default_rng(1)
    for cells, steps in ((512, 40), (1024, 3000)):
        noise = rng.normal(size=(steps, cells))
        best = np.abs(correlations(noise, rng.normal(size=steps))).max()
        assert 0.7 * chance_level(cells, steps) < best < 1.3 * chance_level(cells, steps), (
            cells,
            steps,
            best,
        )


def test_cells_are_ranked_by_their_correlation_with_a_feature() -> None:
    rng = np.random.default_rng(0)
    feature = rng.integers(0, 2, 200).astype(float)
    values = rng.normal(size=(200, 6))
    values[:, 4] = -feature + 0.1 * rng.normal(size=200)  # a cell that tracks it, negatively
    ranked = rank_cells({"layer1 c": values}, {"inside_quotes": feature, "flat": np.ones(200)}, top=2)
    assert list(ranked) == ["inside_quotes"]  # a constant feature has nothing to correlate with
    best = ranked["inside_quotes"][0]
    assert best.cell == "layer1 c[4]" and best.r < -0.95
    assert abs(correlations(values[:, :1], feature)[0]) < 0.3
    masked = feature.copy()
    masked[:100] = np.nan  # where a feature does not apply: left out of r
    values[:100, 2] = 1e6  # a cell wild there only
    values[100:, 2] = masked[100:]
    assert rank_cells({"layer0 h": values}, {"half": masked}, top=1)["half"][0].cell == "layer0 h[2]"


class _Toy(L.LightningModule):
    """A minimal trainable model with the ``inspection_loss`` the callback asks of an app."""

    def __init__(self, cell: str) -> None:
        super().__init__()
        self.net = _Reader(cell)

    def inspection_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return self.net(*batch)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.net(*batch)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self.net(*batch)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(model: _Toy, folder: Path, callback: InspectRecurrence, clip: float) -> None:
    batches = [(torch.randn(4, 12, 3), torch.tensor([12, 9, 12, 5])) for _ in range(4)]
    data = torch.utils.data.DataLoader(batches, batch_size=None)
    trainer = L.Trainer(
        max_steps=4,
        logger=TensorBoardLogger(str(folder), name="", version=""),
        callbacks=[callback],
        gradient_clip_val=clip,
        num_sanity_val_steps=1,
        limit_val_batches=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        log_every_n_steps=1,
    )
    trainer.fit(model, data, data)


def _tags(folder: Path) -> dict[str, list[str]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags: dict[str, list[str]] = {}
    for events in folder.rglob("events.out.tfevents*"):
        accumulator = EventAccumulator(str(events), size_guidance={"histograms": 0, "images": 0})
        accumulator.Reload()
        for kind, names in accumulator.Tags().items():
            if isinstance(names, list):
                tags.setdefault(kind, []).extend(names)
    return tags


def test_the_callback_writes_gates_states_gradients_and_warns_of_exploding_gradients(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    torch.manual_seed(0)
    callback = InspectRecurrence(every_n_steps=2)
    with caplog.at_level(logging.WARNING, logger="lstm_apps"):
        _fit(_Toy("lstm"), tmp_path, callback, clip=1e-6)  # every step clipped
    tags = _tags(tmp_path)
    for layer in ("layer0", "layer1"):
        for gate in GATES["lstm"]:
            assert f"inspect/net.rnn/{layer}/{gate}_gate" in tags["histograms"]
            assert f"inspect/net.rnn/{layer}/{gate}_saturated_high" in tags["scalars"]
        assert f"inspect/net.rnn/{layer}/c_norm" in tags["scalars"]
        assert f"inspect/net.rnn/{layer}/signal_at_4" in tags["scalars"]
        assert f"grad_norm/net.rnn/{layer}/before_clipping" in tags["scalars"]
        assert f"grad_norm/net.rnn/{layer}/after_clipping" in tags["scalars"]
    assert "inspect/learning_signal" in tags["images"] and "inspect/gradient_health" in tags["scalars"]
    assert "inspect/warning/text_summary" in tags["tensors"]
    explode = [r.message for r in caplog.records if r.message.startswith("gradients explode")]
    assert explode and "trainer.gradient_clip_val" in explode[0] and "100%" in explode[0]


def test_the_callback_names_the_layer_where_the_learning_signal_vanishes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = _Toy("rnn")
    with torch.no_grad():
        for name, param in model.net.rnn.rnn.named_parameters():
            if name.startswith("weight_hh"):
                param.mul_(1e-4)  # a recurrence that forgets at once
    callback = InspectRecurrence(every_n_steps=2)
    with caplog.at_level(logging.WARNING, logger="lstm_apps"):
        _fit(model, tmp_path, callback, clip=0.0)
    vanish = [r.message for r in caplog.records if r.message.startswith("gradients vanish")]
    assert vanish and "net.rnn layer0" in vanish[0] and "model.cell=lstm" in vanish[0], caplog.text
    assert not [r for r in caplog.records if r.message.startswith("gradients explode")]


def test_inspection_is_off_by_default_and_one_choice_away() -> None:
    default = compose_config("train", [])
    assert "inspect" not in default.callbacks
    chosen = compose_config("train", ["callbacks=inspect"])
    assert chosen.callbacks.inspect._target_ == "lstm_apps.callbacks.inspect.InspectRecurrence"
    assert set(default.callbacks) < set(chosen.callbacks)  # the defaults are all still there

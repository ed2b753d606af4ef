"""``callbacks=inspect``: the recurrence seen from inside during training, in TensorBoard.

Every ``every_n_steps`` optimizer steps, on one validation batch kept from the first validation
(the sanity check's, by default), the model's recurrent blocks are replayed step by step
(``inspection/replay.py``) and the callback writes, per block, layer and direction: a histogram of
each gate's activations and its saturated shares (< 0.1, > 0.9), the mean norms of the hidden and
memory states, and the learning-signal curve (``inspection/signal.py``); per layer, the gradient
norm before and after clipping. Gradient health is checked at the same interval: clipping active
on most steps by a wide margin (exploding) or a signal curve that falls below ``vanish_below`` within
``vanish_within`` steps (vanishing) logs a warning line naming the layer and the setting to try,
and marks TensorBoard (``inspect/gradient_health``: 1 exploding, -1 vanishing, 0 healthy).

Between inspections it costs one gradient norm per step (for the clipping count, kept on the
device); off (the default), nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.apply_func import apply_to_collection
from lightning.pytorch.loggers import TensorBoardLogger

from lstm_apps.inspection.batch import inspect_batch
from lstm_apps.inspection.signal import SignalCurve, steps_to_fall_below
from lstm_apps.inspection.statistics import gate_values, layer_gradient_norms, total_gradient_norm
from lstm_apps.plots import figure_image, new_figure

log = logging.getLogger("lstm_apps")


class InspectRecurrence(L.Callback):
    """Gates, states and gradients of every recurrent layer in TensorBoard; see the module docstring."""

    def __init__(
        self,
        every_n_steps: int = 200,
        histograms: bool = True,
        vanish_below: float = 1e-3,
        vanish_within: int = 8,
        explode_share: float = 0.5,
        explode_factor: float = 10.0,
    ) -> None:
        if every_n_steps < 1:
            raise ValueError(f"callbacks.inspect.every_n_steps must be >= 1, got {every_n_steps}")
        self.every_n_steps = every_n_steps
        self.histograms = histograms
        self.vanish_below = vanish_below
        self.vanish_within = vanish_within
        self.explode_share = explode_share
        self.explode_factor = explode_factor
        self._batch: Any = None
        self._clipped: torch.Tensor | None = None  # steps whose gradient norm was clipped, on the device
        self._clipped_by: torch.Tensor | None = None  # the sum of norm / threshold over those steps
        self._counted = 0
        self._before_clipping: dict[str, torch.Tensor] = {}
        self.last_findings: list[str] = []  # the health warnings of the last inspection

    # -- what the callback keeps between inspections ---------------------------------------------
    def on_validation_batch_start(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self._batch is None and batch_idx == 0:
            self._batch = apply_to_collection(batch, torch.Tensor, lambda t: t.detach().clone())

    def _inspecting_after(self, trainer: L.Trainer) -> bool:
        """Whether the optimizer step about to run ends with an inspection."""
        return (trainer.global_step + 1) % self.every_n_steps == 0

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: Any
    ) -> None:
        clip = trainer.gradient_clip_val
        algorithm = getattr(trainer.gradient_clip_algorithm, "value", trainer.gradient_clip_algorithm)
        if clip and algorithm in (None, "norm"):  # Lightning clips by norm unless told otherwise
            total = total_gradient_norm(pl_module)
            if total is not None:
                over = total > float(clip)
                clipped, by = over.to(torch.int64), torch.where(over, total / float(clip), 0.0)
                self._clipped = clipped if self._clipped is None else self._clipped + clipped
                self._clipped_by = by if self._clipped_by is None else self._clipped_by + by
                self._counted += 1
        if self._inspecting_after(trainer) and trainer.is_global_zero:
            self._before_clipping = layer_gradient_norms(pl_module)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = trainer.global_step
        if step == 0 or step % self.every_n_steps or not trainer.is_global_zero:
            return
        scalars: dict[str, float] = {}
        for name, before in self._before_clipping.items():
            scalars[f"grad_norm/{name}/before_clipping"] = float(before)
        for name, after in layer_gradient_norms(pl_module).items():
            scalars[f"grad_norm/{name}/after_clipping"] = float(after)
        self._before_clipping = {}
        findings = self._exploding(trainer, scalars)
        curves: list[SignalCurve] = []
        if self._batch is not None:
            curves = self._inspect(trainer, pl_module, scalars)
            findings += self._vanishing(curves)
        self.last_findings = findings
        for line in findings:
            log.warning(line)
        health = 0.0
        if any(line.startswith("gradients explode") for line in findings):
            health = 1.0
        elif findings:
            health = -1.0
        scalars["inspect/gradient_health"] = health
        for logger in trainer.loggers:
            logger.log_metrics(scalars, step=step)
        for writer in _tensorboards(trainer):
            for line in findings:
                writer.add_text("inspect/warning", line, global_step=step)
            if curves:
                writer.add_image("inspect/learning_signal", signal_figure(curves), global_step=step)

    # -- the inspection itself --------------------------------------------------------------------
    def _inspect(
        self, trainer: L.Trainer, pl_module: L.LightningModule, scalars: dict[str, float]
    ) -> list[SignalCurve]:
        inspection = inspect_batch(pl_module, self._batch)
        scalars.update(inspection.scalars)
        for writer in _tensorboards(trainer) if self.histograms else []:
            for record in inspection.records:
                for trace in record.directions():
                    for gate, values in gate_values(trace, record.lengths()).items():
                        tag = f"inspect/{record.name}/{trace.label}/{gate}_gate"
                        writer.add_histogram(tag, values.float().cpu(), trainer.global_step)
        return inspection.curves

    # -- gradient health ---------------------------------------------------------------------------
    def _exploding(self, trainer: L.Trainer, scalars: dict[str, float]) -> list[str]:
        """Clipping active on more than ``explode_share`` of the steps since the last inspection,
        by ``explode_factor`` or more on average: a threshold the norms merely sit above (the
        default runs clip most steps by design, by about 4x) is not an explosion."""
        if self._clipped is None or self._clipped_by is None or not self._counted:
            return []
        clipped = float(self._clipped)
        share, steps = clipped / self._counted, self._counted
        by = float(self._clipped_by) / clipped if clipped else 0.0
        self._clipped, self._clipped_by, self._counted = None, None, 0
        scalars["inspect/clipped_share"], scalars["inspect/clipped_by"] = share, by
        if share <= self.explode_share or by < self.explode_factor:
            return []
        return [
            f"gradients explode: clipping at trainer.gradient_clip_val={trainer.gradient_clip_val} was active on "
            f"{share:.0%} of the last {steps} steps, the norm {by:.0f}x the threshold on average; try a lower "
            "optimizer.lr, or a higher trainer.gradient_clip_val if the norms are steady (grad_norm/* in TensorBoard)"
        ]

    def _vanishing(self, curves: list[SignalCurve]) -> list[str]:
        lines = []
        for curve in curves:
            distance = steps_to_fall_below(curve.relative, self.vanish_below)
            if distance is not None and distance <= self.vanish_within:
                lines.append(
                    f"gradients vanish: in {curve.block} {curve.label} the learning signal falls below "
                    f"{self.vanish_below:g} of its value within {distance} steps; try model.cell=lstm or "
                    "gru (gated memory), fewer model.num_layers, or a shorter sequence (data.bptt/max_length)"
                )
        return lines


def _tensorboards(trainer: L.Trainer) -> list[Any]:
    return [logger.experiment for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]


def signal_figure(curves: list[SignalCurve]) -> torch.Tensor:
    """The learning-signal curves of every layer-direction on a log scale, as an image."""
    fig = new_figure(6.0, 3.6)
    ax = fig.add_subplot()
    for curve in curves:
        values = curve.relative.numpy()
        ax.plot(range(len(values)), values, label=f"{curve.block} {curve.label}")
    ax.set_yscale("log")
    ax.set_xlabel("steps back from the position whose loss it is")
    ax.set_ylabel("gradient norm / at 0 steps")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return figure_image(fig)

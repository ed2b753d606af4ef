"""Polyphonic music model: piano-roll frames -> the shared recurrent block -> the next frame's keys,
independently or jointly (``output``); scored as the JSB protocol scores it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torchmetrics import SumMetric

from lstm_apps.apps.music.measures import frame_counts, nll_sum
from lstm_apps.apps.music.network import PianoRollNetwork
from lstm_apps.apps.music.piano_roll import KEYS
from lstm_apps.apps.music.rendering import SAMPLE_RATE, roll_image, synthesise
from lstm_apps.bounds import Count, Positive
from lstm_apps.core.export_graph import ExportGraph, GraphOf
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.running_mean import mean_at, running_mean

SPLITS = ("train", "val", "test")
COUNTS = ("tp", "fp", "fn")


class MusicModel(AppModule):
    """Trains ``PianoRollNetwork`` (``self.net``; ``**settings`` are its ``cell``, ``hidden_size``,
    ``output`` …) on the summed negative log-likelihood of every key of every frame.

    Logged per split: ``nll`` (nats per time step, summed over the 88 keys: the JSB protocol's
    measure) and ``frame_accuracy`` (Bay et al. 2009) of the most likely next frame given the
    piece so far (joint output: the keys decided from the lowest up, each given those below).
    TensorBoard gets ``log_samples`` sampled pieces of ``sample_steps`` steps, drawn and played.
    """

    app_name = "music"
    network = PianoRollNetwork

    def __init__(
        self,
        steps_per_quarter: int = 1,
        longest_piece: int = 0,
        log_samples: Count = 2,
        sample_steps: Positive = 64,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        self.steps_per_quarter = steps_per_quarter
        # The longest training piece: the longest primer a sample may continue.
        self.longest_piece = longest_piece
        self.log_samples, self.sample_steps = log_samples, sample_steps
        self.net = PianoRollNetwork(**settings)
        self.mean_nll = nn.ModuleDict({f"{split}_nll": running_mean() for split in SPLITS})
        self.counts = nn.ModuleDict(
            {f"{split}_{c}": SumMetric(nan_strategy="disable") for split in SPLITS[1:] for c in COUNTS}
        )
        self._samples: list[np.ndarray] | None = None
        self._report = ""

    # -- model ----------------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.net(inputs, targets, lengths)

    def _nll(self, logits: torch.Tensor, batch: dict[str, torch.Tensor], split: str) -> torch.Tensor:
        """Mean NLL per real step of the batch; the split's step-weighted mean is updated on the
        device (no read-back)."""
        steps = batch["mask"].sum()
        loss = nll_sum(logits, batch["targets"], batch["mask"]) / steps
        mean_at(self.mean_nll, f"{split}_nll").update(loss.detach(), steps)
        return loss

    # -- training / evaluation ------------------------------------------------------------------
    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        mean_at(self.mean_nll, "train_nll").reset()

    def inspection_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The mean NLL per real step, the running means untouched."""
        logits = self(batch["inputs"], batch["targets"], batch["lengths"])
        return nll_sum(logits, batch["targets"], batch["mask"]) / batch["mask"].sum()

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._nll(self(batch["inputs"], batch["targets"], batch["lengths"]), batch, "train")
        self.log_training(batch["inputs"].size(0), loss=loss)
        return loss

    def on_train_epoch_end(self) -> None:
        self.log("train/nll_epoch", mean_at(self.mean_nll, "train_nll").compute(), sync_dist=True)

    def _evaluate(self, batch: dict[str, torch.Tensor], split: str) -> None:
        context, _ = self.net.context(batch["inputs"], batch["lengths"])
        self._nll(self.net.frame_logits(context, batch["targets"]), batch, split)
        counts = frame_counts(self.net.most_likely_frames(context), batch["targets"], batch["mask"])
        for name, value in zip(COUNTS, counts, strict=True):
            self._count(split, name).update(value)

    def _count(self, split: str, name: str) -> SumMetric:
        return cast(SumMetric, self.counts[f"{split}_{name}"])

    def _reset(self, split: str) -> None:
        mean_at(self.mean_nll, f"{split}_nll").reset()
        for name in COUNTS:
            self._count(split, name).reset()

    def _finish(self, split: str) -> tuple[float, float]:
        nll = mean_at(self.mean_nll, f"{split}_nll").compute()
        tp, fp, fn = (self._count(split, name).compute() for name in COUNTS)
        accuracy = tp / (tp + fp + fn).clamp(min=1)
        # compute() already reduced over processes; sync_dist only tells Lightning so.
        self.log(f"{split}/nll", nll, prog_bar=split == "val", sync_dist=True)
        self.log(f"{split}/frame_accuracy", accuracy, sync_dist=True)
        return float(nll), float(accuracy)

    def on_validation_epoch_start(self) -> None:
        self._reset("val")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._finish("val")
        self._samples = None  # drawn when the samples callback asks for them (its epochs only)

    def on_test_epoch_start(self) -> None:
        self._reset("test")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def on_test_epoch_end(self) -> None:
        nll, accuracy = self._finish("test")
        cell = f"{self.net.rnn.cell.upper()} {self.net.output}"
        self._report = (
            "| model | test NLL (nats/step) | frame accuracy |\n| --- | ---: | ---: |\n"
            f"| {cell} | {nll:.3f} | {accuracy:.3f} |"
        )

    # -- what people see ------------------------------------------------------------------------
    def evaluation_report(self) -> str:
        return self._report

    def validation_samples_drawn(self) -> list[np.ndarray]:
        """``log_samples`` pieces of ``sample_steps`` steps, drawn once per validation (seeded by
        the epoch) for both the pictures and the sounds."""
        if self._samples is None:
            self._samples = []
            if self.log_samples:
                generator = torch.Generator(device=self.device).manual_seed(self.current_epoch)
                rolls = self.sample(self.log_samples, self.sample_steps, generator=generator)
                self._samples = [roll.cpu().numpy().astype(bool) for roll in rolls]
        return self._samples

    def validation_images(self) -> dict[str, torch.Tensor]:
        drawn = self.validation_samples_drawn()
        return {f"samples/piano_roll_{i}": roll_image(roll) for i, roll in enumerate(drawn)}

    def validation_audio(self) -> dict[str, tuple[torch.Tensor, int]]:
        return {
            f"samples/audio_{i}": (synthesise(roll, self.steps_per_quarter), SAMPLE_RATE)
            for i, roll in enumerate(self.validation_samples_drawn())
        }

    # -- inference ------------------------------------------------------------------------------
    @torch.no_grad()
    def decode_batch(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The app's decoding entry point: for each piece of a collated batch, the most likely
        next frame after each of its steps ``[T_i, 88]``."""
        with self.evaluating():
            context, _ = self.net.context(batch["inputs"], batch["lengths"])
            frames = self.net.most_likely_frames(context)
        return [frames[row, :length] for row, length in enumerate(batch["lengths"].tolist())]

    @torch.no_grad()
    def sample(
        self,
        count: int,
        steps: int,
        temperature: float = 1.0,
        primer: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``count`` pieces ``[count, P + steps, 88]`` (0/1): ``primer`` (``[P, 88]``, or none)
        continued by ``steps`` sampled frames, all pieces drawn as one batch."""
        with self.evaluating():
            start = torch.zeros(count, 1, KEYS, device=self.device)
            given = (
                primer.to(self.device, torch.float32).expand(count, -1, -1) if primer is not None else None
            )
            inputs = start if given is None else torch.cat([start, given], dim=1)
            logits, state = self.net.context(inputs)
            drawn = []
            for _ in range(steps):
                frame = self.net.sample_frame(logits[:, -1], temperature, generator)
                drawn.append(frame)
                logits, state = self.net.context(frame[:, None], state=state)
            sampled = torch.stack(drawn, dim=1) if drawn else start[:, :0]
        return sampled if given is None else torch.cat([given, sampled], dim=1)

    def export_graphs(self) -> list[ExportGraph]:
        """``next_frame``: frames ``[B, T, 88]`` (a silent frame, then the piece) -> ``context``,
        what the state says of each next frame: the keys' logits ``[B, T, 88]`` (independent
        output: the whole model). Joint also ``frame_keys``: a frame's ``context [N, 88]`` and its
        keys ``[N, 88]`` -> each key's logit given the keys below it (decide from the lowest up)."""
        net = self.net

        def next_frame(frames: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return (net.context(frames)[0],)

        extras: dict[str, object] = {
            "output": net.output,
            "steps_per_quarter": self.steps_per_quarter,
            "lowest_pitch": 21,
            "keys": KEYS,
        }
        graphs = [
            ExportGraph(
                "next_frame",
                GraphOf(net, next_frame),
                lambda n: ((torch.rand(n, 12 + n, KEYS) < 0.05).float(),),
                ["frames"],
                ["context"],
                {"frames": {0: "batch", 1: "steps"}, "context": {0: "batch", 1: "steps"}},
                extras,
            )
        ]
        if net.joint is not None:
            joint = net.joint

            def frame_keys(context: torch.Tensor, frames: torch.Tensor) -> tuple[torch.Tensor, ...]:
                return (joint(context, frames),)

            graphs.append(
                ExportGraph(
                    "frame_keys",
                    GraphOf(net, frame_keys),
                    lambda n: (torch.randn(n, KEYS), (torch.rand(n, KEYS) < 0.05).float()),
                    ["context", "frames"],
                    ["logits"],
                    {"context": {0: "frames"}, "frames": {0: "frames"}, "logits": {0: "frames"}},
                    {**extras, "joint_units": joint.units},
                )
            )
        return graphs

"""The TensorBoard hparams tab: the run's knobs next to its final metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.tensorboard.summary import hparams as hparams_summary
from torch.utils.tensorboard.writer import FileWriter

HPARAM_SECTIONS = ("model", "data", "optimizer", "scheduler", "trainer")


def flat_hparams(config: Mapping[str, Any]) -> dict[str, Any]:
    """Scalar settings of the config sections that describe a run, as ``section.key`` pairs."""
    flat: dict[str, Any] = {"app": config.get("app_name"), "seed": config.get("seed")}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in ("_partial_", "_recursive_"):
                    continue
                walk(f"{prefix}.{key}", value)
        elif isinstance(node, bool | int | float | str):
            flat[prefix] = node
        elif node is None:
            flat[prefix] = "None"

    for section in HPARAM_SECTIONS:
        walk(section, config.get(section))
    return {k: v for k, v in flat.items() if v is not None}


def log_final_hparams(trainer: L.Trainer, config: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
    """Write one hparams record per run whose metric columns point at the logged scalar tags.

    Lightning's own ``log_hyperparams(params, metrics)`` also re-logs the metrics at step 0, which
    would put a bogus point on the ``val/*`` curves; writing the summary directly avoids that.
    """
    if not trainer.is_global_zero:
        return
    finite = {k: float(v) for k, v in metrics.items() if math.isfinite(float(v))}
    params = flat_hparams(config)
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            # A second event file in the logger's folder: TensorBoard reads them all as one run.
            writer = FileWriter(logger.log_dir)
            for summary in hparams_summary(params, finite):
                writer.add_summary(summary)
            writer.close()
        else:
            logger.log_hyperparams({**params, **{f"final/{k}": v for k, v in finite.items()}})

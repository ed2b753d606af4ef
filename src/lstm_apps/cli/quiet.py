"""Keep the console about the run: drop Lightning's advertising tips and known-harmless warnings."""

from __future__ import annotations

import logging
import warnings

_HARMLESS_WARNINGS = (
    r".*isinstance\(treespec, LeafSpec\).*",  # Lightning's own use of a deprecated torch API
    r".*`IterableDataset` has `__len__` defined.*",  # our BPTT windows are never split over workers
    r".*does not have many workers.*",  # in-memory tensors: workers would only add overhead
)


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in str(record.msg)


def quiet_console() -> None:
    for pattern in _HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_DropTips())

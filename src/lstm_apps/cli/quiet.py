"""Keep the console about the run: drop Lightning's advertising tips and known-harmless warnings."""

from __future__ import annotations

import logging
import warnings

_HARMLESS_WARNINGS = (
    r".*isinstance\(treespec, LeafSpec\).*",  # Lightning's own use of a deprecated torch API
    r".*`IterableDataset` has `__len__` defined.*",  # our BPTT windows are never split over workers
    r".*does not have many workers.*",  # in-memory tensors: workers would only add overhead
    # scheduler.interval=validation: offered every step, it has no metric before the first validation
    r".*ReduceLROnPlateau conditioned on metric .* strict is set to `False`.*",
)


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in str(record.msg)


def quiet_console() -> None:
    for pattern in _HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_DropTips())


def route_library_logs_through_root() -> None:
    """Lightning installs its own console handler; under Hydra every line would print twice.

    Dropping it sends Lightning's messages through Hydra's handlers: once to the console and once
    into the run's log file.
    """
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)

"""Where the project's Hydra configs live."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    """The ``configs/`` folder: ``$LSTM_APPS_CONFIG_DIR`` or the one beside ``src/`` in the checkout."""
    override = os.environ.get("LSTM_APPS_CONFIG_DIR")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[2] / "configs"


def available_apps() -> list[str]:
    """Names selectable with ``app=<name>``: one YAML file each in ``configs/app``."""
    return sorted(p.stem for p in (config_dir() / "app").glob("*.yaml"))

"""Where the project's Hydra configs live, and which apps ``app=<name>`` selects."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> Path:
    """The project's ``configs/`` folder.

    ``$LSTM_APPS_CONFIG_DIR`` wins; an installed wheel carries the folder as ``lstm_apps/configs``;
    a checkout (editable install) has it beside ``src/``. Users add folders of their own with
    ``--config-dir`` or ``hydra.searchpath`` instead of replacing this one (docs/configuration.md).
    """
    override = os.environ.get("LSTM_APPS_CONFIG_DIR")
    if override:
        return Path(override).resolve()
    shipped = PACKAGE_DIR / "configs"
    if shipped.is_dir():
        return shipped
    return PACKAGE_DIR.parents[1] / "configs"


def available_apps(user_config_dirs: Iterable[Path] = ()) -> list[str]:
    """Names selectable with ``app=<name>``: every registered app (``lstm_apps.registry``), and
    each YAML file in the ``app/`` folder of a config folder a user adds (an app of their own
    package, or a variant of one of ours)."""
    from lstm_apps.registry import app_names

    own = {p.stem for folder in user_config_dirs for p in (Path(folder) / "app").glob("*.yaml")}
    return sorted({*app_names(), *own})

"""Each app's data preparation: the module its ``App`` names (``prepare``, inside its package).

Such a module exposes ``DATASETS`` (name -> one-line description) and
``prepare(name, out_dir, base_url=None) -> {label: written path}``. Living inside the package,
preparation works from an installed wheel as well as from a checkout; adding an app's module is
all it takes for ``lstm-apps prepare`` to offer it.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

from lstm_apps.registry import apps


def app_names() -> list[str]:
    """Every app, with or without a preparation module."""
    return list(apps())


def preparation(app: str) -> ModuleType | None:
    """The app's preparation module, or None when the app has none (or no such app exists)."""
    spec = apps().get(app)
    return spec.preparation() if spec is not None else None


def datasets(app: str) -> dict[str, str]:
    """Data sets the app can prepare: name -> one-line description (empty when it has none)."""
    module = preparation(app)
    return dict(module.DATASETS) if module is not None else {}


def catalogue() -> dict[str, dict[str, str]]:
    """Every app that prepares data, with its data sets."""
    return {app: found for app in app_names() if (found := datasets(app))}


def default_out_dir(app: str) -> Path:
    """``data/<app>`` under ``$LSTM_APPS_ROOT`` or the working directory: where the recipes look."""
    return Path(os.environ.get("LSTM_APPS_ROOT") or ".") / "data" / app

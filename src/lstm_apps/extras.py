"""Optional parts of lstm-apps: which extra brings which packages, and the error when one is missing.

The core (training, evaluation, prediction of every app) needs none of them; ``make install``
installs them all. A run that reaches for a missing one stops with one line naming the extra.
"""

from __future__ import annotations

import importlib.util

from lstm_apps.errors import UserError

# What the shared parts need; each app declares its own extras in its ``App`` (``all_extras()``).
EXTRAS: dict[str, tuple[str, ...]] = {
    "export": ("onnx", "onnxscript", "onnxruntime"),
    "sweep": ("optuna",),
    "cluster": ("hydra_plugins.hydra_submitit_launcher",),
    "baselines": ("sklearn",),
    "serve": ("litserve", "pydantic", "multipart"),
}


def all_extras() -> dict[str, tuple[str, ...]]:
    """Every optional package set: the shared ones and those the apps declare."""
    from lstm_apps.registry import app_extras

    return {**EXTRAS, **app_extras()}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        return False


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here."""
    return [module for module in all_extras()[extra] if not _installed(module)]


def install_hint(extra: str) -> str:
    return f"pip install 'lstm-apps[{extra}]'"


def require_extra(extra: str, purpose: str) -> None:
    """Raise ``UserError`` naming ``extra`` when ``purpose`` needs packages that are not installed."""
    missing = missing_modules(extra)
    if missing:
        raise UserError(
            f"{purpose} needs the optional '{extra}' packages ({', '.join(missing)} not installed): "
            f"{install_hint(extra)}"
        )

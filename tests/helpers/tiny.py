"""Each app's tiny setup, found through its ``App`` (``lstm_apps.registry``): the Hydra overrides
that train it in a second or two on a CPU, the ``lstm-apps predict`` options, a request for its
server and its playground form. The setups live in the apps' own packages (``tiny.py``)."""

from __future__ import annotations

from pathlib import Path

from lstm_apps.registry import App, Tiny, apps


def missing_setup_message(app: str) -> str:
    """What to do when an app's package has no tiny setup."""
    return (
        f"app {app!r} has no tiny setup: add tiny.py to its package with tiny(folder) -> Tiny "
        f"(lstm_apps.registry): the Hydra overrides that train {app} in a second or two on a CPU on "
        f"data written under folder, and the `lstm-apps predict` options that use the trained model"
    )


def tiny_setup(app: str | App, folder: Path) -> Tiny:
    """The app's tiny data written under ``folder``, and its setup; a failure that says what to add."""
    spec = apps()[app] if isinstance(app, str) else app
    try:
        return spec.tiny_setup(folder)
    except (ModuleNotFoundError, AttributeError) as error:
        raise LookupError(f"{missing_setup_message(spec.name)} ({error})") from None


def tiny_overrides(app: str, folder: Path) -> list[str]:
    """The app's tiny train overrides, its data written under ``folder``."""
    return tiny_setup(app, folder).overrides

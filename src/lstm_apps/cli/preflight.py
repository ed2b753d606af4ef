"""Validate command-line overrides before Hydra runs, so mistakes cost one clear line."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from lstm_apps.errors import UserError
from lstm_apps.paths import available_apps, config_dir


def check_overrides(config_name: str, args: list[str]) -> None:
    """Raise ``UserError`` for an unknown app or an override that does not compose.

    Runs only for plain runs: with flags (``-m``, ``--cfg``, ``--help`` …) Hydra is left to speak.
    """
    if any(arg.startswith("-") for arg in args):
        return
    overrides = list(args)
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") == "app" and value and "," not in value:
            apps = available_apps()
            if value not in apps:
                raise UserError(f"unknown app '{value}' (available: {', '.join(apps)})")
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            compose(config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        raise UserError(_one_line(err)) from None
    finally:
        GlobalHydra.instance().clear()


def _one_line(err: BaseException) -> str:
    """Hydra's composition errors span several lines; keep what names the culprit."""
    root: BaseException = err
    while root.__cause__ is not None:
        root = root.__cause__
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    root_lines = [ln.strip() for ln in str(root).splitlines() if ln.strip()]
    if "not in struct" in str(root) or "Could not override" in str(err):
        key = root_lines[0].split("'")[1] if "'" in root_lines[0] else root_lines[0]
        return f"unknown config key '{key}' (check the spelling, or add a new key with +{key}=...)"
    if "Could not find" in str(err) and lines:
        available = [ln for ln in lines if ln and not ln.startswith(("Config search path", "Available", "In "))]
        return lines[0] + (f" (available: {', '.join(available[1:])})" if len(available) > 1 else "")
    return lines[0] if lines else type(err).__name__

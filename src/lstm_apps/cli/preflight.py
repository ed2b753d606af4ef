"""Validate command-line overrides before Hydra runs, so mistakes cost one clear line."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lstm_apps.config_ranges import check_config, check_search_space
from lstm_apps.errors import UserError
from lstm_apps.extras import install_hint
from lstm_apps.paths import available_apps, config_dir


def check_overrides(config_name: str, args: list[str]) -> None:
    """Raise ``UserError`` for an unknown app, an override that does not compose, or a value out of range.

    Runs only for plain runs: with flags (``-m``, ``--cfg``, ``--help`` …) Hydra is left to speak.
    Users' own config folders (``--config-dir``) are searched here as Hydra will search them.
    """
    user_dirs, args = split_config_dirs(args)
    if any(arg.startswith("-") for arg in args):
        return
    overrides = list(args)
    parser = OverridesParser.create()
    for override in overrides:
        try:
            parser.parse_override(override)
        except HydraException as err:
            raise UserError(f"cannot parse override '{override}': {_one_line(err)}") from None
    for override in overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") == "app" and value and "," not in value:
            apps = available_apps(user_dirs)
            if value not in apps:
                raise UserError(f"unknown app '{value}' (available: {', '.join(apps)})")
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    if user_dirs and not any(o.startswith("hydra.searchpath=") for o in overrides):
        overrides.append(f"hydra.searchpath=[{','.join('file://' + str(d) for d in user_dirs)}]")
    try:
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            cfg = compose(config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        raise UserError(_one_line(err)) from None
    finally:
        GlobalHydra.instance().clear()
    missing = _missing_keys(cfg)
    if missing:
        raise UserError(f"missing value for {', '.join(missing)} (pass it as {missing[0]}=...)")
    check_values(config_name, cfg)


def check_values(config_name: str, cfg: DictConfig) -> None:
    """Every value within its declared range (``lstm_apps.config_ranges``), search bounds included."""
    check_config(cfg, config_name)
    if config_name == "train":
        check_search_space(cfg)


def split_config_dirs(args: list[str]) -> tuple[list[Path], list[str]]:
    """Pull Hydra's ``--config-dir DIR`` / ``-cd DIR`` / ``--config-dir=DIR`` out of ``args``."""
    dirs: list[Path] = []
    rest: list[str] = []
    arguments = iter(args)
    for arg in arguments:
        if arg in ("--config-dir", "-cd"):
            value = next(arguments, None)
            if value is None:
                raise UserError(f"{arg} needs a folder: {arg} DIR")
            dirs.append(Path(value).resolve())
        elif arg.startswith("--config-dir="):
            dirs.append(Path(arg.partition("=")[2]).resolve())
        else:
            rest.append(arg)
    for folder in dirs:
        if not folder.is_dir():
            raise UserError(f"--config-dir {folder}: no such folder")
    return dirs, rest


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
    if "Ambiguous value" in str(err) and lines:
        return lines[0] + """ (a comma makes a list or sweep; quote the value: key='"a, b"')"""
    if "hydra/launcher/submitit" in str(err):
        return f"the slurm launchers need the optional 'cluster' packages: {install_hint('cluster')}"
    if "Could not find" in str(err) and lines:
        return lines[0] + _available_options(lines)
    return lines[0] if lines else type(err).__name__


def _available_options(lines: list[str]) -> str:
    """Pick the option names out of Hydra's 'Available options in ...' block."""
    options: list[str] = []
    collecting = False
    for line in lines:
        if line.startswith("Available options"):
            collecting = True
        elif line.startswith("Config search path"):
            break
        elif collecting:
            options.append(line)
    return f" (available: {', '.join(options)})" if options else ""


def _missing_keys(node: DictConfig, prefix: str = "") -> list[str]:
    """``???`` values, found without resolving interpolations (``${hydra:…}`` is not set yet)."""
    found: list[str] = []
    for key in node.keys():
        path = f"{prefix}{key!s}"  # !s: OmegaConf also admits bytes keys
        if OmegaConf.is_missing(node, key):
            found.append(path)
            continue
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not OmegaConf.is_interpolation(child):
            found += _missing_keys(child, f"{path}.")
    return found

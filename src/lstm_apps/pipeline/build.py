"""Instantiation from config with errors that name the config key at fault."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lstm_apps.config_ranges import check_node
from lstm_apps.errors import UserError


def _root_message(err: BaseException) -> str:
    while err.__cause__ is not None and not isinstance(err, UserError):
        err = err.__cause__
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def plain_dict(node: DictConfig) -> dict[str, Any]:
    """``node`` resolved into plain Python containers, typed as the ``str``-keyed dict it is."""
    resolved = OmegaConf.to_container(node, resolve=True)
    if not isinstance(resolved, dict):
        raise TypeError(f"expected a mapping config, got {type(resolved).__name__}")
    # OmegaConf types keys as str | int | float | bool | bytes | Enum; the run configs use str.
    return cast(dict[str, Any], resolved)


def named_items(node: DictConfig) -> Iterator[tuple[str, Any]]:
    """``node.items()`` with every key as text, for messages and signature lookups.

    OmegaConf also admits int, float, bool, bytes and Enum keys (a YAML ``1: …``); they are named
    as ``str(key)``, and are never a parameter name.
    """
    for key, value in node.items():
        yield str(key), value


def instantiate_node(
    node: DictConfig | Mapping[str, Any], key: str, recursive: bool = True, **kwargs: Any
) -> Any:
    """``hydra.utils.instantiate`` that turns any failure into one line naming ``key``.

    ``recursive=False`` leaves nested configs as configs (models keep their optimiser configs).
    """
    if isinstance(node, DictConfig):
        check_node(node, key)
    try:
        return instantiate(node, _recursive_=recursive, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        raise UserError(f"{key}: {_root_message(err)}") from None
    except OmegaConfBaseException as err:
        raise UserError(f"{key}: {_root_message(err)}") from None


def instantiate_collection(node: DictConfig | None, key: str) -> list[Any]:
    """Instantiate every entry of a ``name -> config`` group (callbacks, loggers); nulls are skipped."""
    if not node:
        return []
    built = []
    for name, entry in named_items(node):
        if entry is None:
            continue
        if not isinstance(entry, DictConfig) or "_target_" not in entry:
            raise UserError(f"{key}.{name}: expected a config with a _target_")
        built.append(instantiate_node(entry, f"{key}.{name}"))
    return built


def check_config_types(cfg: DictConfig, sections: tuple[str, ...]) -> None:
    """Check every ``_target_`` node under ``sections`` against its target's signature before
    anything slow is built (``config_ranges.check_node``)."""
    for section in sections:
        node = cfg.get(section)
        if isinstance(node, DictConfig):
            check_node(node, section)


PIPELINE_MODEL_KEYS = ("compile",)  # model.* keys the pipeline acts on, not constructor arguments


def instantiate_model(node: DictConfig, handoff: dict[str, Any]) -> Any:
    """Build the app model from ``cfg.model`` and the datamodule's hand-off."""
    resolved = plain_dict(node)
    constructor = OmegaConf.create({k: v for k, v in resolved.items() if k not in PIPELINE_MODEL_KEYS})
    return instantiate_node(constructor, "model", recursive=False, **handoff)

"""Instantiation from config with errors that name the config key at fault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from lstm_apps.errors import UserError


def _root_message(err: BaseException) -> str:
    while err.__cause__ is not None and not isinstance(err, UserError):
        err = err.__cause__
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def instantiate_node(
    node: DictConfig | Mapping[str, Any], key: str, recursive: bool = True, **kwargs: Any
) -> Any:
    """``hydra.utils.instantiate`` that turns any failure into one line naming ``key``.

    ``recursive=False`` leaves nested configs as configs (models keep their optimiser configs).
    """
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
    for name, entry in node.items():
        if entry is None:
            continue
        if not isinstance(entry, DictConfig) or "_target_" not in entry:
            raise UserError(f"{key}.{name}: expected a config with a _target_")
        built.append(instantiate_node(entry, f"{key}.{name}"))
    return built

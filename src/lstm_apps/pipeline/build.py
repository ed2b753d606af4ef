"""Instantiation from config with errors that name the config key at fault."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any, cast

from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

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
        check_argument_types(node, key)
        if recursive:
            for name, child in named_items(node):
                if isinstance(child, DictConfig):
                    check_argument_types(child, f"{key}.{name}")
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


_SIMPLE_TYPES = (bool, int, float, str)


def check_argument_types(node: DictConfig, key: str) -> None:
    """Fail early, naming ``key.arg``, when a config value cannot be what the target's signature says.

    Only plain ``int``/``float``/``bool``/``str`` (optionally ``| None``) parameters are checked, a
    ``Literal`` as the types of its values (which value is the target's to check); anything richer
    is left to the target. This turns ``data.bptt=abc`` into one line instead of a
    ``TypeError`` deep inside training.
    """
    target = node.get("_target_") if isinstance(node, DictConfig) else None
    if not target:
        return
    try:
        obj = get_object(target)
        hints = typing.get_type_hints(obj.__init__ if inspect.isclass(obj) else obj)
    except Exception:  # unknown or unhinted targets are instantiate()'s to report
        return
    for name, value in named_items(node):
        if name.startswith("_") or name not in hints or isinstance(value, DictConfig | ListConfig):
            continue
        allowed = _simple_types(hints[name])
        if allowed is None:
            continue
        if value is None and type(None) in allowed:
            continue
        if not _value_fits(value, allowed):
            names = "/".join(t.__name__ for t in allowed if t is not type(None))
            raise UserError(f"{key}.{name}: expected {names}, got {value!r}")


def _literal_as_types(hint: Any) -> tuple[Any, ...]:
    """``Literal["lstm", "gru"]`` -> ``(str,)``; any other hint -> ``(hint,)``."""
    if typing.get_origin(hint) is typing.Literal:
        return tuple(dict.fromkeys(type(value) for value in typing.get_args(hint)))
    return (hint,)


def _simple_types(hint: Any) -> tuple[type, ...] | None:
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    args = tuple(t for a in args for t in _literal_as_types(a))
    if all(a in _SIMPLE_TYPES or a is type(None) for a in args):
        return tuple(args)
    return None


def _value_fits(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int):
        return int in allowed or float in allowed
    return isinstance(value, tuple(t for t in allowed if t is not type(None)))


def check_config_types(cfg: DictConfig, sections: tuple[str, ...]) -> None:
    """Type-check every ``_target_`` node under ``sections`` before anything slow is built."""

    def walk(node: Any, key: str) -> None:
        if isinstance(node, DictConfig):
            check_argument_types(node, key)
            for name, child in named_items(node):
                if isinstance(child, DictConfig):
                    walk(child, f"{key}.{name}")

    for section in sections:
        if section in cfg and cfg[section] is not None:
            walk(cfg[section], section)


PIPELINE_MODEL_KEYS = ("compile",)  # model.* keys the pipeline acts on, not constructor arguments


def instantiate_model(node: DictConfig, handoff: dict[str, Any]) -> Any:
    """Build the app model from ``cfg.model`` and the datamodule's hand-off."""
    resolved = plain_dict(node)
    constructor = OmegaConf.create({k: v for k, v in resolved.items() if k not in PIPELINE_MODEL_KEYS})
    return instantiate_node(constructor, "model", recursive=False, **handoff)

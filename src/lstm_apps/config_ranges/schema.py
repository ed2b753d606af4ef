"""The signature is the schema: what a constructor parameter's annotation allows, as a ``Kind``.

``hidden_size: Positive`` (``Annotated[int, Ge(1)]``), ``cell: Literal["lstm", "gru", "rnn"]``,
``quantiles: list[Fraction] | None`` … are read here into the kinds that check a composed config
and word its errors, so a setting's type and range are written once, on the parameter that owns
it, for every ``_target_`` a config builds (models, datamodules, data sources, predictor options).
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import annotated_types as at
from hydra.utils import get_object
from omegaconf import DictConfig

from lstm_apps.bounds import KeysOf
from lstm_apps.config_ranges.kinds import AnyOf, Choice, Flag, Key, Kind, ListOf, Null, Range, Text

ANY_TEXT = Text(r"(?s).*", "a text")


def kind_of(hint: Any) -> Kind | None:
    """The kind an annotation allows, or ``None`` when it is not a plain setting (a mapping, an
    object, a callable …: those are the constructor's own to check)."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        base, *metadata = typing.get_args(hint)
        return _bounded(base, metadata)
    if origin is typing.Literal:
        return Choice(tuple(str(value) for value in typing.get_args(hint)))
    if origin in (typing.Union, types.UnionType):
        kinds = [Null() if arg is type(None) else kind_of(arg) for arg in typing.get_args(hint)]
        if any(kind is None for kind in kinds):
            return None
        # The value's own kinds first, null last, as the error line reads best.
        ordered = sorted((k for k in kinds if k is not None), key=lambda k: isinstance(k, Null))
        return ordered[0] if len(ordered) == 1 else AnyOf(tuple(ordered))
    if origin in (list, Sequence, tuple) and len(typing.get_args(hint)) in (1, 2):
        args = typing.get_args(hint)
        if origin is tuple and (len(args) != 2 or args[1] is not Ellipsis):
            return None
        item = kind_of(args[0])
        return ListOf(item) if item is not None else None
    if hint is bool:
        return Flag()
    if hint is int:
        return Range(True)
    if hint is float:
        return Range(False)
    if hint is str:
        return ANY_TEXT
    return None


def _bounded(base: Any, metadata: list[Any]) -> Kind | None:
    """``Annotated[int | float, Ge(…), Lt(…) …]`` as a ``Range``; other metadata is ignored."""
    if base not in (int, float):
        return kind_of(base)
    low: float | None = None
    high: float | None = None
    low_open = high_open = False
    for item in metadata:
        for bound in item if isinstance(item, at.Interval) else [item]:
            if isinstance(bound, at.Ge):
                low, low_open = float(bound.ge), False  # type: ignore[arg-type]
            elif isinstance(bound, at.Gt):
                low, low_open = float(bound.gt), True  # type: ignore[arg-type]
            elif isinstance(bound, at.Le):
                high, high_open = float(bound.le), False  # type: ignore[arg-type]
            elif isinstance(bound, at.Lt):
                high, high_open = float(bound.lt), True  # type: ignore[arg-type]
    return Range(base is int, low, high, low_open, high_open)


@cache
def parameter_keys(target: str) -> dict[str, Key]:
    """``{parameter: Key}`` for the parameters of ``target`` (a ``_target_`` path) whose
    annotations are settings; unknown or unreadable targets have none."""
    try:
        obj = get_object(target)
    except Exception:  # an unknown target is instantiate()'s to report
        return {}
    return object_keys(obj)


def object_keys(obj: Any) -> dict[str, Key]:
    """``{name: Key}`` for a class's constructor parameters (a dataclass's fields) or a function's
    parameters; a ``KeysOf(cls)`` mapping parameter contributes ``name.<cls's parameter>``."""
    function = obj.__init__ if inspect.isclass(obj) else obj
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # unresolvable annotations: nothing to check here
        return {}
    names = (
        [f.name for f in dataclasses.fields(obj)]
        if dataclasses.is_dataclass(obj)
        else list(inspect.signature(function).parameters)
    )
    keys: dict[str, Key] = {}
    for name in names:
        hint = hints.get(name)
        nested = _keys_of(hint)
        if nested is not None:
            keys.update({f"{name}.{inner}": spec for inner, spec in object_keys(nested).items()})
            continue
        kind = kind_of(hint) if hint is not None else None
        if kind is not None:
            keys[name] = Key(kind, "")
    network = forwarded_to(obj)
    if network is not None:
        for name, spec in object_keys(network).items():
            keys.setdefault(name, spec)
    return keys


def forwarded_to(obj: Any) -> type | None:
    """The class that receives a class's ``**settings``: an app model's plain ``network``, whose
    parameters are then ``model.*`` settings like the model's own."""
    network = getattr(obj, "network", None) if inspect.isclass(obj) else None
    if not isinstance(network, type):
        return None
    parameters = inspect.signature(obj.__init__).parameters.values()
    return network if any(p.kind is p.VAR_KEYWORD for p in parameters) else None


def signature_parameters(obj: Any) -> dict[str, inspect.Parameter]:
    """The named parameters a config node of ``obj`` may set: its own and, for an app model,
    those of the network its ``**settings`` go to."""
    function = obj.__init__ if inspect.isclass(obj) else obj
    skipped = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    parameters = {
        name: parameter
        for name, parameter in inspect.signature(function).parameters.items()
        if name != "self" and parameter.kind not in skipped
    }
    network = forwarded_to(obj)
    if network is not None:
        for name, parameter in signature_parameters(network).items():
            parameters.setdefault(name, parameter)
    return parameters


def _keys_of(hint: Any) -> type | None:
    """The class of a ``KeysOf`` mark on ``hint``, if any."""
    if typing.get_origin(hint) is typing.Annotated:
        for item in typing.get_args(hint)[1:]:
            if isinstance(item, KeysOf):
                return item.target
    return None


def target_nodes(node: Any, key: str) -> Iterator[tuple[str, DictConfig]]:
    """``(dotted key, node)`` for ``node`` and every node below it that has a ``_target_``."""
    if not isinstance(node, DictConfig):
        return
    if "_target_" in node:
        yield key, node
    for name in node:
        try:
            child = node._get_node(name)
        except Exception:
            continue
        if isinstance(child, DictConfig):
            yield from target_nodes(child, f"{key}.{name!s}")


def config_keys(cfg: DictConfig, sections: Sequence[str]) -> dict[str, Key]:
    """The keys that the ``_target_`` nodes under ``sections`` own, by their dotted config path."""
    found: dict[str, Key] = {}
    for section in sections:
        node = cfg.get(section) if isinstance(cfg, DictConfig) else None
        for path, target_node in target_nodes(node, section):
            target = target_node.get("_target_")
            if isinstance(target, str):
                for name, spec in parameter_keys(target).items():
                    found[f"{path}.{name}"] = spec
    return found

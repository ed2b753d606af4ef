"""Check a composed config against the declared valid values, before any work starts.

Called by the command line before Hydra runs (plain runs), again where the config reaches the
task function (each job of a ``-m`` sweep), and for each Optuna trial and search space, so that a
bad value always costs one line naming the key, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lstm_apps.config_ranges.declared import EVAL, EXPORT, INSPECT, PREDICT_COMMON, RUN, SERVE, Key
from lstm_apps.config_ranges.schema import config_keys, object_keys, parameter_keys, target_nodes
from lstm_apps.errors import UserError

_ABSENT = object()
# The sections of a run config whose ``_target_`` nodes own their keys (signature = schema).
OWNED_SECTIONS = ("data", "model", "finetune")
# The same for ``lstm-apps serve``: ``serve`` is ``ServeSettings``.
SERVE_SECTIONS = ("serve",)


def declarations(command: str) -> dict[str, Key]:
    """The keys of ``command``'s config that no constructor owns (``declared.py``)."""
    tables = {
        "train": RUN,
        "eval": EVAL,
        "predict": PREDICT_COMMON,
        "inspect": INSPECT,
        "export": EXPORT,
        "serve": SERVE,
    }
    if command not in tables:
        raise ValueError(f"unknown command {command!r}")
    return dict(tables[command])


def declared_keys(cfg: DictConfig, command: str) -> dict[str, Key]:
    """Every key ``cfg`` can be checked on: the command's own, and for a run (a server) the keys
    of each ``_target_`` under ``data``, ``model`` and ``finetune`` (``serve``), read from its
    signature."""
    found = declarations(command)
    if command == "train":
        found.update(config_keys(cfg, OWNED_SECTIONS))
    if command == "serve":
        found.update(config_keys(cfg, SERVE_SECTIONS))
    return found


def show(value: Any) -> str:
    """A value as the user would type it on the command line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ",".join(show(v) for v in value) + "]"
    return str(value)


def problem(name: str, value: Any, spec: Key) -> str | None:
    """The error line for ``name=value``, or ``None`` when ``spec`` allows it."""
    found = spec.problem(value)
    return None if found is None else f"{name}={show(value)} {found}"


def _check(cfg: DictConfig, keys: Mapping[str, Key], prefix: str = "") -> None:
    for name, spec in keys.items():
        value = _selected(cfg, name)
        if value is _ABSENT:
            continue
        message = problem(prefix + name, value, spec)
        if message:
            raise UserError(message)


def check_config(cfg: DictConfig, command: str) -> None:
    """Raise ``UserError`` for the first value outside what its key allows, in key order."""
    _check(cfg, declared_keys(cfg, command))


def check_targets(cfg: DictConfig, sections: Sequence[str] = OWNED_SECTIONS) -> None:
    """Check the keys the ``_target_`` nodes under ``sections`` own (e.g. a checkpoint's run
    config once ``lstm-apps eval`` has merged its overrides in)."""
    _check(cfg, config_keys(cfg, sections))


def check_node(node: DictConfig, key: str) -> None:
    """Check what a ``_target_`` node (and every target node below it) gives its target's
    parameters; ``key`` is the node's dotted path, for the error line."""
    for path, target_node in target_nodes(node, key):
        target = target_node.get("_target_")
        if isinstance(target, str):
            _check(target_node, {name: spec for name, spec in parameter_keys(target).items()}, f"{path}.")


def check_options(options_type: type, options: Mapping[str, Any]) -> None:
    """Check ``options`` (name -> value) against the annotations of the dataclass ``options_type``
    (an app's ``lstm-apps predict`` options)."""
    for name, spec in object_keys(options_type).items():
        if name in options:
            message = problem(name, _plain(options[name]), spec)
            if message:
                raise UserError(message)


def check_search_space(cfg: DictConfig) -> None:
    """Every bound or choice of ``search.params`` must itself be a valid value of its key."""
    params = _selected(cfg, "search.params")
    if not isinstance(params, Mapping):
        return
    known = declared_keys(cfg, "train")
    for name, spec in _searched(params):
        if name not in known:
            continue
        candidates = [("choices", c) for c in spec.get("choices") or []]
        candidates += [(bound, spec.get(bound)) for bound in ("low", "high") if spec.get(bound) is not None]
        for field, value in candidates:
            message = problem(name, value, known[name])
            if message:
                raise UserError(f"search.params.{name}.{field}: {message}")


def _searched(params: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Mapping[str, Any]]]:
    """``(key, {type, low, high | choices})`` pairs of the nested ``search.params`` tree."""
    for name, node in params.items():
        if isinstance(node, Mapping):
            yield from [(f"{prefix}{name}", node)] if "type" in node else _searched(node, f"{prefix}{name}.")


def _selected(cfg: DictConfig, name: str) -> Any:
    """The value at ``name`` as plain Python, or ``_ABSENT`` when it is not there or not known yet
    (``???``, or an interpolation such as ``${hydra:…}`` that only resolves inside a run)."""
    try:
        value = OmegaConf.select(cfg, name, default=_ABSENT, throw_on_missing=False)
    except OmegaConfBaseException:
        return _ABSENT
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, DictConfig | ListConfig):
        try:
            return OmegaConf.to_container(value, resolve=True)
        except OmegaConfBaseException:
            return _ABSENT
    return value

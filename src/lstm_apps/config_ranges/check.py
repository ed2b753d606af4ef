"""Check a composed config against the declared valid values, before any work starts.

Called by the command line before Hydra runs (plain runs), again where the config reaches the
task function (each job of a ``-m`` sweep), and for each Optuna trial and search space, so that a
bad value always costs one line naming the key, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lstm_apps.config_ranges.declared import (
    APP,
    EVAL,
    EXPORT,
    PREDICT,
    PREDICT_COMMON,
    RUN,
    SOURCE_GROUPS,
    SOURCES,
    Key,
)
from lstm_apps.errors import UserError

_ABSENT = object()


def declarations(command: str, app: str | None = None) -> dict[str, list[Key]]:
    """Every declared key of ``command``'s config; a key several apps declare lists each of them.

    With ``app`` unknown (``eval`` and ``predict`` learn it from the checkpoint), a value passes
    when any app allows it; the app's own code then reads it.
    """
    apps = [app] if app in APP else list(APP)
    tables: list[Mapping[str, Key]]
    if command == "train":
        tables = [RUN, *(APP[a] for a in apps)]
    elif command == "eval":
        data_keys = ({k: v for k, v in APP[a].items() if k.startswith("data.")} for a in apps)
        tables = [EVAL, *data_keys]
    elif command == "predict":
        tables = [PREDICT_COMMON, *(PREDICT[a] for a in (apps if app in PREDICT else PREDICT))]
    elif command == "export":
        tables = [EXPORT]
    else:
        raise ValueError(f"unknown command {command!r}")
    found: dict[str, list[Key]] = {}
    for table in tables:
        for name, spec in table.items():
            if spec not in found.setdefault(name, []):
                found[name].append(spec)
    return found


def declared_keys(cfg: DictConfig, command: str, app: str | None = None) -> dict[str, list[Key]]:
    """``declarations`` plus the keys of the data sources ``cfg`` composes (by their ``_target_``)."""
    found = declarations(command, app)
    if command == "train":
        for group in SOURCE_GROUPS:
            target = _selected(cfg, f"data.{group}._target_")
            for name, spec in SOURCES.get(target if isinstance(target, str) else "", {}).items():
                found[f"data.{group}.{name}"] = [spec]
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


def problem(name: str, value: Any, specs: Iterable[Key]) -> str | None:
    """The error line for ``name=value``, or ``None`` when one of ``specs`` allows it."""
    specs = list(specs)
    problems = [spec.problem(value) for spec in specs]
    if not specs or any(p is None for p in problems):
        return None
    return f"{name}={show(value)} {problems[0]}"


def check_config(cfg: DictConfig, command: str, app: str | None = None) -> None:
    """Raise ``UserError`` for the first value outside its declared range, in declaration order."""
    if app is None:
        app = _selected(cfg, "app_name")
        app = app if isinstance(app, str) else None
    for name, specs in declared_keys(cfg, command, app).items():
        value = _selected(cfg, name)
        if value is _ABSENT:
            continue
        message = problem(name, value, specs)
        if message:
            raise UserError(message)


def check_predict_options(app: str, options: Mapping[str, Any]) -> None:
    """Check the prediction options ``app`` reads (for code that knows the app)."""
    table = {**PREDICT_COMMON, **PREDICT.get(app, {})}
    for name, spec in table.items():
        if name in options:
            message = problem(name, _plain(options[name]), [spec])
            if message:
                raise UserError(message)


def check_search_space(cfg: DictConfig) -> None:
    """Every bound or choice of ``search.params`` must itself be a valid value of its key."""
    params = _selected(cfg, "search.params")
    if not isinstance(params, Mapping):
        return
    app = _selected(cfg, "app_name")
    known = declared_keys(cfg, "train", app if isinstance(app, str) else None)
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

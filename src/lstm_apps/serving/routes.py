"""Which checkpoints a server holds and under which route: ``ckpt_path=x.ckpt`` (one model, at the
root), ``ckpt_path=[a.ckpt,b.ckpt]`` (each under ``/<its app>/``) or ``ckpt_path=routes.yaml``
(``name: checkpoint`` lines, each under ``/<name>/``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from lstm_apps.errors import UserError
from lstm_apps.pipeline.checkpoint import CheckpointInfo, read_checkpoint

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Routes of the server itself, which a model's name would shadow.
RESERVED = frozenset(
    {"docs", "redoc", "openapi.json", "info", "health", "ready", "metrics", "playground", "predict"}
)


@dataclass(frozen=True)
class Served:
    """One model of a server: ``name`` is its route (``""``: the only model, at the root)."""

    name: str
    info: CheckpointInfo

    @property
    def prefix(self) -> str:
        return f"/{self.name}" if self.name else ""


def routes_file(path: Path) -> dict[str, str]:
    """``name: checkpoint`` pairs of a routes YAML; relative checkpoints are the file's neighbours."""
    try:
        found = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise UserError(f"ckpt_path={path}: not a readable routes file ({err})") from None
    if not isinstance(found, dict) or not found:
        raise UserError(f"ckpt_path={path}: a routes file holds 'name: checkpoint' lines, one per model")
    routes = {}
    for name, checkpoint in found.items():
        if not isinstance(checkpoint, str):
            raise UserError(f"{path}: {name}: give the checkpoint's path (got {checkpoint!r})")
        routes[str(name)] = str(
            (path.parent / checkpoint) if not Path(checkpoint).is_absolute() else checkpoint
        )
    return routes


def models_to_serve(ckpt_path: str | Sequence[str], expected_app: str | None = None) -> list[Served]:
    """The checkpoints ``ckpt_path`` names, read and checked, with their routes."""
    routes: dict[str, str]
    if isinstance(ckpt_path, str) and Path(ckpt_path).suffix in {".yaml", ".yml"}:
        routes = routes_file(Path(ckpt_path))
    elif isinstance(ckpt_path, str):
        return [Served("", read_checkpoint(ckpt_path, expected_app=expected_app))]
    else:
        if not ckpt_path:
            raise UserError("ckpt_path=[]: name at least one checkpoint")
        infos = [read_checkpoint(str(path), expected_app=expected_app) for path in ckpt_path]
        routes = {}
        seen: dict[str, Path] = {}
        for info in infos:
            if info.app in seen:
                raise UserError(
                    f"ckpt_path: {seen[info.app]} and {info.path} are both {info.app} models; name their routes "
                    "in a YAML file (ckpt_path=routes.yaml with 'name: checkpoint' lines)"
                )
            seen[info.app] = info.path
            routes[info.app] = str(info.path)
        return [Served(name, info) for name, info in zip(routes, infos, strict=True)]
    for name in routes:
        if not NAME.match(name) or name in RESERVED:
            raise UserError(
                f"ckpt_path={ckpt_path}: {name!r} is not a route name (lowercase letters, digits, '-' and '_'; "
                f"not one of {', '.join(sorted(RESERVED))})"
            )
    return [Served(name, read_checkpoint(path, expected_app=expected_app)) for name, path in routes.items()]

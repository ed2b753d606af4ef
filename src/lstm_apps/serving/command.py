"""``serve(cfg)``: read the checkpoint, check the settings, start the server (blocks until stopped)."""

from __future__ import annotations

import dataclasses

from omegaconf import DictConfig, OmegaConf

from lstm_apps.errors import UserError
from lstm_apps.extras import require_extra
from lstm_apps.pipeline.checkpoint import read_checkpoint
from lstm_apps.pipeline.numerics import apply_matmul_precision
from lstm_apps.serving.settings import ServeSettings


def serve_settings(cfg: DictConfig) -> ServeSettings:
    """``cfg.serve`` as ``ServeSettings`` (its values were checked against the annotations before)."""
    values = OmegaConf.to_container(cfg.serve, resolve=True)
    assert isinstance(values, dict)
    values.pop("_target_", None)
    known = {field.name for field in dataclasses.fields(ServeSettings)}
    for name in values:
        if name not in known:
            raise UserError(f"serve.{name!s}: not a serve setting (known: {', '.join(sorted(known))})")
    return ServeSettings(**{str(k): v for k, v in values.items()})


def serve(cfg: DictConfig) -> None:
    require_extra("serve", "serving a checkpoint over HTTP")
    apply_matmul_precision(cfg)
    settings = serve_settings(cfg)  # before the checkpoint: a bad setting is named first
    info = read_checkpoint(cfg.ckpt_path, expected_app=cfg.get("expected_app"))

    from lstm_apps.serving.server import build_server, run_server

    server = build_server(info, settings)
    host = "127.0.0.1" if settings.host != "::" else "[::1]"
    print(
        f"serving {info.app} ({info.path}) at http://{host}:{settings.port}/ — playground at /, "
        f"API docs at /docs, batching up to {settings.max_batch_size}"
        f"{', recurrent layers in int8' if settings.quantize == 'int8' else ''}; Ctrl+C or SIGTERM stops",
        flush=True,
    )
    run_server(server, settings)

"""``serve(cfg)``: check the settings, read the checkpoints, start the server (blocks until stopped)."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from lstm_apps.errors import UserError
from lstm_apps.extras import require_extra
from lstm_apps.pipeline.numerics import apply_matmul_precision
from lstm_apps.serving import metrics
from lstm_apps.serving.routes import models_to_serve
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


def check_port_is_free(settings: ServeSettings) -> None:
    """One line for a port another process listens on (uvicorn would log its own error and exit
    with 3, the code of a server that stopped itself)."""
    family = socket.AF_INET6 if settings.host == "::" else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((settings.host, settings.port))
        except OSError as err:
            raise UserError(
                f"serve.port={settings.port}: {settings.host}:{settings.port} is taken ({err.strerror}); "
                "stop what listens there or choose another port"
            ) from None


def serve(cfg: DictConfig) -> None:
    require_extra("serve", "serving a checkpoint over HTTP")
    apply_matmul_precision(cfg)
    settings = serve_settings(cfg)  # before the checkpoint: a bad setting is named first
    check_port_is_free(settings)
    paths = cfg.ckpt_path if isinstance(cfg.ckpt_path, str) else [str(p) for p in cfg.ckpt_path]
    models = models_to_serve(paths, expected_app=cfg.get("expected_app"))
    folder = Path(tempfile.mkdtemp(prefix="lstm-apps-metrics-"))
    metrics.use_folder(folder)  # before prometheus_client is first imported, here or in a child

    from lstm_apps.serving.server import build_server, run_server

    try:
        server = build_server(models, settings)
        host = "127.0.0.1" if settings.host != "::" else "[::1]"
        at = f"http://{host}:{settings.port}/"
        if len(models) == 1 and not models[0].name:
            served = f"{models[0].info.app} ({models[0].info.path}) at {at}"
        else:
            routes = ", ".join(f"{m.info.app} ({m.info.path}) at /{m.name}/" for m in models)
            served = f"{len(models)} models at {at}: {routes}"
        print(
            f"serving {served} — playground at /, API docs at /docs, readiness at /ready, metrics at /metrics, "
            f"batching up to {settings.max_batch_size}"
            f"{', recurrent layers in int8' if settings.quantize == 'int8' else ''}; Ctrl+C or SIGTERM stops",
            flush=True,
        )
        run_server(server, settings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

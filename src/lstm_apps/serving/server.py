"""Assemble the LitServer for a checkpoint: the app's endpoints, the playground at ``/``, ``/info``
with the checkpoint's summary, one-line validation errors, and a SIGTERM that drains.

An app's ``App`` (``lstm_apps.registry``) names its endpoints (``AppAPI`` subclasses) and its
playground form, as it names its predictor.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from pathlib import Path
from typing import Any

import litserve as ls
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from litserve.server import no_auth
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from lstm_apps import __version__
from lstm_apps.errors import UserError
from lstm_apps.pipeline.checkpoint import CheckpointInfo
from lstm_apps.registry import app as registered_app
from lstm_apps.serving.api import AppAPI, settle_the_heap
from lstm_apps.serving.settings import ServeSettings
from lstm_apps.serving.summary import checkpoint_summary, handoff_summary
from lstm_apps.serving.transport import AnswerPipe, PipeTransport

logger = logging.getLogger("lstm_apps.serving")

PLAYGROUND = Path(__file__).with_name("playground")
# LitServe names its HTTP front-end processes so; the SIGTERM drain stops them first.
FRONT_END_PREFIX = "LitServer-"


def endpoints_for(app: str) -> list[type[AppAPI]]:
    """The endpoints of ``app``, as its ``App`` names them."""
    spec = registered_app(app)
    endpoints = spec.part(spec.endpoints)
    if not endpoints or not all(isinstance(e, type) and issubclass(e, AppAPI) for e in endpoints):
        raise UserError(f"app {app!r}: its endpoints ({spec.endpoints}) are not a list of AppAPI classes")
    return list(endpoints)


def playground_script(app: str) -> Path:
    """The app's form: the script its ``App`` names (``playground.js`` in its package)."""
    return registered_app(app).playground_script()


class PipeQueueServer(ls.LitServer):
    """A LitServer whose queues are pipes between the processes and whose endpoints ask nothing
    of a thread.

    LitServe's own queues are proxies of a manager process, so every request crossed it four times
    (put and get, both ways); here requests go down a queue from the spawn context (the model
    processes are spawned; the HTTP front ends are forked and inherit it) and answers come back
    through ``PipeTransport``. Without an API key LitServe's endpoint depends on a plain function,
    which FastAPI runs in a worker thread for every request; ``setup_auth`` swaps in an ``async``
    one that runs on the event loop (docs/serving.md has what each change bought).
    """

    def _init_manager(self, num_api_servers: int) -> Any:
        manager = super()._init_manager(num_api_servers)
        spawn = multiprocessing.get_context("spawn")
        for path in self.litapi_request_queues:
            self.litapi_request_queues[path] = spawn.Queue()
        self._transport = PipeTransport([AnswerPipe(spawn) for _ in range(num_api_servers)])
        return manager

    def setup_auth(self, lit_api: ls.LitAPI | None = None) -> Any:
        chosen = super().setup_auth(lit_api)
        return nobody_to_authorize if chosen is no_auth else chosen


async def nobody_to_authorize() -> None:
    """The endpoints' dependency when no API key is set: nothing to check, on the event loop."""


def build_server(info: CheckpointInfo, settings: ServeSettings) -> ls.LitServer:
    """A LitServer with ``info``'s endpoints and our routes; ``run_server`` starts it."""
    apis = [endpoint(str(info.path), settings) for endpoint in endpoints_for(info.app)]
    metadata = {
        "app": info.app,
        "checkpoint": str(info.path),
        "version": __version__,
        "endpoints": {api.api_path: {"summary": api.summary, "stream": api.stream} for api in apis},
        "batching": {"max_batch_size": settings.max_batch_size, "batch_timeout": settings.batch_timeout},
        "quantize": settings.quantize,
        "limits": {"max_input_chars": settings.max_input_chars, "max_upload_mb": settings.max_upload_mb},
        "training": checkpoint_summary(info),
        "handoff": handoff_summary(info),
    }
    server = PipeQueueServer(
        apis,
        accelerator=settings.device_kind(),
        workers_per_device=settings.workers_per_device,
        timeout=settings.timeout,
        max_payload_size=int(settings.max_upload_mb * 1024 * 1024),
        model_metadata=metadata,
    )
    # LitServe's "/" says "litserve running"; ours is the playground.
    server.app.router.routes = [
        route for route in server.app.router.routes if not (isinstance(route, Route) and route.path == "/")
    ]
    add_playground(server, info.app)
    server.app.add_exception_handler(RequestValidationError, one_line_validation_error)
    server.app.add_exception_handler(StarletteHTTPException, naming_the_limits(settings))
    return server


def add_playground(server: ls.LitServer, app: str) -> None:
    """``GET /``: the page; ``GET /playground/<file>``: its shared assets and the app's form."""
    files = {name: PLAYGROUND / name for name in ("playground.css", "playground.js")}
    files["app.js"] = playground_script(app)
    page = (PLAYGROUND / "index.html").read_text(encoding="utf-8").replace("{{app}}", app)

    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    async def asset(name: str) -> Any:
        if name not in files:
            return JSONResponse({"detail": f"no such file: {name}"}, status_code=404)
        return FileResponse(files[name])

    server.app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    server.app.add_api_route("/playground/{name}", asset, methods=["GET"], include_in_schema=False)


async def one_line_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's list of problems as one line naming each field: ``text: Field required``; a body
    that is not JSON at all is a 400."""
    problems = []
    status = 422
    content_type = request.headers.get("content-type", "")
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        if not location and item.get("type") == "model_attributes_type" and "json" not in content_type:
            status = 415
            problems.append(
                f"body: send a JSON object with Content-Type: application/json (got {content_type or 'none'})"
            )
            continue
        if item.get("type") == "json_invalid":
            status = 400
            problems.append(f"body: not valid JSON ({item.get('ctx', {}).get('error', 'decode error')})")
            continue
        field = ".".join(location) or "body"
        problems.append(f"{field}: {item.get('msg', 'invalid')}")
    return JSONResponse({"detail": "; ".join(problems)}, status_code=status)


def naming_the_limits(settings: ServeSettings) -> Any:
    """HTTP errors as ``{"detail": …}``, as FastAPI answers them, except that LitServe's "Payload
    too large" names the setting that decides it."""

    async def answer(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = error.detail
        if error.status_code == 413 and detail == "Payload too large":
            detail = f"body: larger than serve.max_upload_mb={settings.max_upload_mb:g} MB"
        return JSONResponse({"detail": detail}, status_code=error.status_code, headers=error.headers)

    return answer


def drain_on_sigterm(server: ls.LitServer, timeout: float) -> None:
    """On SIGTERM: stop the HTTP front ends first (uvicorn stops accepting and finishes the requests
    in flight, up to ``timeout`` seconds) while the model processes keep answering them, then let
    LitServe shut the rest down."""

    def drain() -> None:
        front_ends = [p for p in multiprocessing.active_children() if p.name.startswith(FRONT_END_PREFIX)]
        logger.warning("SIGTERM: finishing the requests in flight, then stopping")
        for process in front_ends:
            process.terminate()
        for process in front_ends:
            process.join(timeout)
        event = getattr(server, "_shutdown_event", None)
        if event is not None:
            event.set()

    main_process = os.getpid()

    def on_sigterm(signum: int, frame: Any) -> None:
        if os.getpid() != main_process:  # a process forked from this one: stop as it would have
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one drain, however many signals follow
        threading.Thread(target=drain, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, on_sigterm)


def run_server(server: ls.LitServer, settings: ServeSettings) -> None:
    drain_on_sigterm(server, settings.drain_timeout)
    server.uvicorn_graceful_timeout = settings.drain_timeout
    settle_the_heap()  # before the HTTP front ends are forked from this process
    server.run(
        host=settings.host,
        port=settings.port,
        num_api_servers=settings.api_servers,
        generate_client_file=False,
        log_level="warning",
        access_log=False,  # a logger call per request, though nothing below a warning is shown
    )

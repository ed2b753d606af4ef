"""Assemble the LitServer for one checkpoint or several: each model's endpoints (under
``/<name>/`` when there are several), its playground, ``/info``, ``/health``, ``/ready`` and
``/metrics``, one-line validation errors, bounded queues, model processes replaced when they die,
and a SIGTERM that drains.

An app's ``App`` (``lstm_apps.registry``) names its endpoints (``AppAPI`` subclasses) and its
playground form, as it names its predictor.
"""

from __future__ import annotations

import html
import logging
import multiprocessing
import os
import signal
import threading
from pathlib import Path
from typing import Any

import litserve as ls
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from litserve.server import no_auth
from starlette.exceptions import HTTPException as StarletteHTTPException

from lstm_apps import __version__
from lstm_apps.errors import UserError
from lstm_apps.pipeline.predictor import predictor_for
from lstm_apps.registry import app as registered_app
from lstm_apps.serving import metrics
from lstm_apps.serving.api import AppAPI, settle_the_heap
from lstm_apps.serving.front_end import BoundedRequestHandler, BoundedStreamingHandler, RequestMetrics
from lstm_apps.serving.inside import InsideAPI
from lstm_apps.serving.routes import Served
from lstm_apps.serving.settings import ServeSettings
from lstm_apps.serving.summary import checkpoint_summary, handoff_summary
from lstm_apps.serving.transport import AnswerPipe, PipeTransport
from lstm_apps.serving.workers import ModelProcess, Supervisor, WorkerBoard

logger = logging.getLogger("lstm_apps.serving")

PLAYGROUND = Path(__file__).with_name("playground")
# LitServe names its HTTP front-end processes so; the SIGTERM drain stops them first.
FRONT_END_PREFIX = "LitServer-"
# A model process that dies again this soon stops the server with this exit code.
STOPPED_EXIT_CODE = 3


class ServerStopped(UserError):
    """The server stopped itself (a model process kept dying, a front end died): one line, and an
    exit code a supervisor tells from a mistake in the command (2)."""

    exit_code = STOPPED_EXIT_CODE


def endpoints_for(app: str) -> list[type[AppAPI]]:
    """The endpoints of ``app``, as its ``App`` names them."""
    spec = registered_app(app)
    endpoints = spec.part(spec.endpoints)
    if not endpoints or not all(isinstance(e, type) and issubclass(e, AppAPI) for e in endpoints):
        raise UserError(f"app {app!r}: its endpoints ({spec.endpoints}) are not a list of AppAPI classes")
    inside = [InsideAPI] if predictor_for(app).inside_view else []  # the playground's inside view
    return [*endpoints, *inside]


def playground_script(app: str) -> Path:
    """The app's form: the script its ``App`` names (``playground.js`` in its package)."""
    return registered_app(app).playground_script()


class PipeQueueServer(ls.LitServer):
    """A LitServer whose queues are pipes between the processes and bounded, whose endpoints ask
    nothing of a thread, and whose dying model processes are replaced.

    LitServe's own queues are proxies of a manager process, so every request crossed it four times
    (put and get, both ways); here requests go down a queue from the spawn context (the model
    processes are spawned; the HTTP front ends are forked and inherit it) with ``serve.max_queue``
    places, and answers come back through ``PipeTransport``. Without an API key LitServe's
    endpoint depends on a plain function, which FastAPI runs in a worker thread for every request;
    ``setup_auth`` swaps in an ``async`` one that runs on the event loop (docs/serving.md has what
    each change bought). ``Supervisor`` replaces LitServe's monitor, which stops the whole server
    when one model process dies.
    """

    def __init__(
        self, apis: list[AppAPI], settings: ServeSettings, models: list[Served], **options: Any
    ) -> None:
        self.settings = settings
        self.models = models
        self.fatal: str | None = None
        self.stopping = False
        super().__init__(apis, **options)

    # -- processes ---------------------------------------------------------------------------------
    def _init_manager(self, num_api_servers: int) -> Any:
        manager = super()._init_manager(num_api_servers)
        spawn = multiprocessing.get_context("spawn")
        for api in self.litapi_connector:
            self.litapi_request_queues[api.api_path] = spawn.Queue(maxsize=self.settings.max_queue)
            workers = len(self._inference_workers_config_for_api(api.api_path))
            api.board = WorkerBoard(spawn, workers, api.max_batch_size)
        self._transport = PipeTransport([AnswerPipe(spawn) for _ in range(num_api_servers)])
        return manager

    def _start_worker_monitoring(self, manager: Any, uvicorn_workers: dict[Any, Any]) -> None:
        processes: list[ModelProcess] = []
        for api in self.litapi_connector:
            for worker in range(len(self._inference_workers_config_for_api(api.api_path))):
                processes.append(ModelProcess(api, worker, self.inference_workers[len(processes)]))
        index = {(entry.api.api_path, entry.worker): i for i, entry in enumerate(processes)}

        def start_worker(api: Any, worker: int) -> Any:
            process = self.launch_single_inference_worker(api, worker)
            self.inference_workers[index[(api.api_path, worker)]] = process
            return process

        Supervisor(
            processes,
            [w for w in uvicorn_workers.values() if isinstance(w, multiprocessing.process.BaseProcess)],
            self.settings.restart_window,
            start_worker,
            lambda front_end, items: self._transport.send_all(items, front_end),
            self.stop_because,
            self.is_stopping,
            on_restart=lambda api: metrics.count_restart(api.api_path),
        ).start()

    def stop_because(self, reason: str) -> None:
        self.fatal = reason
        self.stopping = True
        assert self._shutdown_event is not None
        self._shutdown_event.set()

    def is_stopping(self) -> bool:
        if self.stopping:
            return True
        try:
            return bool(self._shutdown_event is not None and self._shutdown_event.is_set())
        except (OSError, EOFError):  # the manager is gone: so is the server
            return True

    def _perform_graceful_shutdown(self, *args: Any, **kwargs: Any) -> None:
        self.stopping = True  # Ctrl+C comes here without the event: no replacements from now on
        super()._perform_graceful_shutdown(*args, **kwargs)

    def run(self, *args: Any, **kwargs: Any) -> None:
        super().run(*args, **kwargs)
        if self.fatal:
            raise ServerStopped(f"serving stopped: {self.fatal}")

    # -- routes ------------------------------------------------------------------------------------
    def setup_auth(self, lit_api: ls.LitAPI | None = None) -> Any:
        chosen = super().setup_auth(lit_api)
        return nobody_to_authorize if chosen is no_auth else chosen

    def _register_api_endpoints(self, lit_api: ls.LitAPI, request_type: Any, response_type: Any) -> None:
        """LitServe's route for ``lit_api``, with our handlers: bounded queue, timeout."""
        kind = BoundedStreamingHandler if lit_api.stream else BoundedRequestHandler
        handler = kind(lit_api, self, self.settings)

        async def endpoint_handler(request: Any) -> Any:
            return await handler.handle_request(request, request_type)

        # The real classes, not names (this module postpones its annotations): FastAPI reads them
        # for validation and the OpenAPI schema.
        endpoint_handler.__annotations__ = {"request": request_type, "return": response_type}
        self.app.add_api_route(
            lit_api.api_path,
            endpoint_handler,
            methods=["POST"],
            dependencies=[Depends(self.setup_auth(lit_api))],
        )

    def _register_internal_endpoints(self) -> None:
        """``/health``: the process answers (liveness); ``/ready``: every model process has its
        model loaded and answered its warm-up (readiness); ``/info``; ``/metrics``."""
        auth = [Depends(self.setup_auth())]

        async def health() -> Response:
            return PlainTextResponse("ok")

        async def ready() -> Response:
            waiting = [
                api.api_path for api in self.litapi_connector if not (api.board and api.board.all_ready())
            ]
            if waiting:
                return PlainTextResponse(f"not ready: {', '.join(waiting)} loading", status_code=503)
            return PlainTextResponse("ready")

        async def info() -> Response:
            return JSONResponse({"model": self.model_metadata, "server": self.server_info()})

        async def scrape() -> Response:
            body, content_type = metrics.exposition(self.gauges)
            return Response(body, media_type=content_type)

        self.app.add_api_route(self.healthcheck_path, health, methods=["GET"], dependencies=auth)
        self.app.add_api_route("/ready", ready, methods=["GET"], dependencies=auth)
        self.app.add_api_route(self.info_path, info, methods=["GET"], dependencies=auth)
        self.app.add_api_route(
            "/metrics", scrape, methods=["GET"], dependencies=auth, include_in_schema=False
        )
        for model in self.models:
            if model.name:
                self.app.add_api_route(
                    f"{model.prefix}/info", self.model_info(model), methods=["GET"], dependencies=auth
                )

    def model_info(self, model: Served) -> Any:
        async def info() -> Response:
            return JSONResponse({"model": model_metadata(model, self.settings), "server": self.server_info()})

        return info

    def server_info(self) -> dict[str, Any]:
        return {
            "devices": self.devices,
            "workers_per_device": self.workers_per_device,
            "request_timeout": self.settings.request_timeout,
            "max_queue": self.settings.max_queue,
            "stream": {api.api_path: api.stream for api in self.litapi_connector},
            "model_processes": {
                api.api_path: api.board.process_ids() if api.board else [] for api in self.litapi_connector
            },
            "max_payload_size": self.max_payload_size,
        }

    def gauges(self) -> list[tuple[str, str, dict[str, float]]]:
        apis = list(self.litapi_connector)
        return [
            (
                "lstm_apps_queue_depth",
                "requests waiting for a model process",
                {api.api_path: float(self.litapi_request_queues[api.api_path].qsize()) for api in apis},
            ),
            (
                "lstm_apps_requests_decoding",
                "requests a model process holds now (taken from the queue, not yet answered)",
                {api.api_path: float(api.board.holding()) for api in apis if api.board is not None},
            ),
            (
                "lstm_apps_model_processes_ready",
                "model processes with their model loaded and warmed up",
                {
                    api.api_path: float(sum(api.board.ready(w) for w in range(api.board.workers)))
                    for api in apis
                    if api.board is not None
                },
            ),
        ]


async def nobody_to_authorize() -> None:
    """The endpoints' dependency when no API key is set: nothing to check, on the event loop."""


def model_metadata(model: Served, settings: ServeSettings) -> dict[str, Any]:
    """What ``/info`` says of one model: app, checkpoint, endpoints, settings, training, hand-off."""
    info = model.info
    endpoints = endpoints_for(info.app)
    return {
        "app": info.app,
        "checkpoint": str(info.path),
        "version": __version__,
        "endpoints": {
            model.prefix + e.default_path: {"summary": e.summary, "stream": e.streams} for e in endpoints
        },
        "batching": {"max_batch_size": settings.max_batch_size, "batch_timeout": settings.batch_timeout},
        "quantize": settings.quantize,
        "limits": {"max_input_chars": settings.max_input_chars, "max_upload_mb": settings.max_upload_mb},
        "training": checkpoint_summary(info),
        "handoff": handoff_summary(info),
    }


def build_server(models: list[Served], settings: ServeSettings) -> PipeQueueServer:
    """A LitServer with the models' endpoints and our routes; ``run_server`` starts it."""
    apis = [
        endpoint(str(model.info.path), settings, model.prefix, len(models))
        for model in models
        for endpoint in endpoints_for(model.info.app)
    ]
    if len(models) == 1 and not models[0].name:
        metadata = model_metadata(models[0], settings)
    else:
        metadata = {"models": {model.name: model_metadata(model, settings) for model in models}}
    server = PipeQueueServer(
        apis,
        settings,
        models,
        accelerator=settings.device_kind(),
        workers_per_device=settings.workers_per_device,
        timeout=settings.request_timeout,
        max_payload_size=int(settings.max_upload_mb * 1024 * 1024),
        model_metadata=metadata,
        middlewares=[(RequestMetrics, {"routes": frozenset(api.api_path for api in apis)})],
    )
    add_playgrounds(server, models)
    server.app.add_exception_handler(RequestValidationError, one_line_validation_error)
    server.app.add_exception_handler(StarletteHTTPException, naming_the_limits(settings))
    return server


def add_playgrounds(server: ls.LitServer, models: list[Served]) -> None:
    """Each model's playground at ``<prefix>/``; with several models, a page listing them at ``/``."""
    shared = {name: PLAYGROUND / name for name in ("playground.css", "playground.js")}
    for model in models:
        add_playground(server, model, shared)
    if len(models) > 1 or models[0].name:
        add_model_list(server, models)
    server.app.add_api_route(
        "/playground/{name}", asset_route(shared), methods=["GET"], include_in_schema=False
    )


def add_playground(server: ls.LitServer, model: Served, shared: dict[str, Path]) -> None:
    """``GET <prefix>/``: the page; ``GET <prefix>/playground/<file>``: its assets and form."""
    files = {**shared, "app.js": playground_script(model.info.app)}
    base = f"{model.prefix}/"
    home = '<a href="/">all models</a> · ' if model.name else ""
    page = (
        (PLAYGROUND / "index.html")
        .read_text(encoding="utf-8")
        .replace("{{app}}", html.escape(model.name or model.info.app))
        .replace("{{base}}", base)
        .replace("{{home}}", home)
    )

    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    server.app.add_api_route(base, index, methods=["GET"], include_in_schema=False)
    if model.prefix:
        server.app.add_api_route(
            f"{model.prefix}/playground/{{name}}",
            asset_route(files),
            methods=["GET"],
            include_in_schema=False,
        )
    else:
        shared["app.js"] = files["app.js"]


def asset_route(files: dict[str, Path]) -> Any:
    async def asset(name: str) -> Any:
        if name not in files:
            return JSONResponse({"detail": f"no such file: {name}"}, status_code=404)
        return FileResponse(files[name])

    return asset


def add_model_list(server: ls.LitServer, models: list[Served]) -> None:
    """``GET /``: a table of the models, each linking to its playground."""
    rows = "\n".join(
        f'        <tr><td><a href="{m.prefix}/">{html.escape(m.name)}</a></td><td>{m.info.app}</td>'
        f"<td>{', '.join(m.prefix + e.default_path for e in endpoints_for(m.info.app))}</td>"
        f"<td>{html.escape(str(m.info.path))}</td></tr>"
        for m in models
    )
    page = (
        (PLAYGROUND / "models.html")
        .read_text(encoding="utf-8")
        .replace("{{count}}", str(len(models)))
        .replace("{{rows}}", rows)
    )

    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    server.app.add_api_route("/", index, methods=["GET"], include_in_schema=False)


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
        server.stopping = True  # front ends ending now is no failure
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
    """Serve until stopped; ``ServerStopped`` if the server stopped itself. ``metrics.use_folder``
    has run before (``lstm_apps.serving.command``)."""
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

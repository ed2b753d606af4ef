"""What the HTTP front end does with a request for a model: into the model's bounded queue or a 503
at once, then its answer or a 504 after ``serve.request_timeout``; and each request counted.

LitServe's handlers put every request on an unbounded queue and wait for its answer for ever;
under a flood the queue and the waiting coroutines grow without limit and every client waits
longer. Here the queue has ``serve.max_queue`` places (``multiprocessing.Queue(maxsize)``: the
count is shared by every front end and model process, and taking a request frees its place).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from queue import Full
from typing import Any

from fastapi import HTTPException
from fastapi.responses import StreamingResponse
from litserve.server import RegularRequestHandler, StreamingRequestHandler
from litserve.utils import LitAPIStatus, ResponseBufferItem
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lstm_apps.serving import metrics
from lstm_apps.serving.settings import ServeSettings

RETRY_AFTER_S = "1"


def submit(handler: Any, payload: Any, item: ResponseBufferItem, settings: ServeSettings) -> str:
    """``payload`` onto its model's queue (its answer to arrive in ``item``), or a 503 when
    ``serve.max_queue`` requests already wait there."""
    server = handler.server
    uid = str(uuid.uuid4())
    server.response_buffer[uid] = item
    try:
        server._get_request_queue(handler.lit_api.api_path).put_nowait(
            (server.app.response_queue_id, uid, time.monotonic(), payload)
        )
    except Full:
        server.response_buffer.pop(uid, None)
        raise HTTPException(
            503,
            f"busy: {settings.max_queue} requests already wait for this model (serve.max_queue); retry shortly",
            headers={"Retry-After": RETRY_AFTER_S},
        ) from None
    return uid


class _Settled:
    """A LitServe request handler that also knows the ``serve.*`` settings."""

    def __init__(self, lit_api: Any, server: Any, settings: ServeSettings) -> None:
        super().__init__(lit_api, server)  # type: ignore[call-arg]
        self.settings = settings


class BoundedRequestHandler(_Settled, RegularRequestHandler):
    """One answer per request, or a 503 (queue full) or 504 (no answer in time)."""

    async def handle_request(self, request: Any, request_type: Any) -> Any:
        payload = await self._prepare_request(request, request_type)
        item = ResponseBufferItem(asyncio.Event())
        uid = submit(self, payload, item, self.settings)
        try:
            await asyncio.wait_for(item.event.wait(), self.settings.request_timeout)
        except TimeoutError:
            raise HTTPException(
                504, f"no answer within serve.request_timeout={self.settings.request_timeout:g} s"
            ) from None
        finally:
            self.server.response_buffer.pop(uid, None)
        response, status = item.response
        if status == LitAPIStatus.ERROR:
            self._handle_error_response(response)
        return response


class BoundedStreamingHandler(_Settled, StreamingRequestHandler):
    """A stream of pieces as the model makes them, or a 503 when the queue is full."""

    async def handle_request(self, request: Any, request_type: Any) -> StreamingResponse:
        payload = await self._prepare_request(request, request_type)
        item = ResponseBufferItem(asyncio.Event(), response_queue=deque())
        uid = submit(self, payload, item, self.settings)

        async def pieces() -> AsyncIterator[Any]:
            try:
                async for piece in self.server.data_streamer(item.response_queue, data_available=item.event):
                    yield piece
            finally:
                self.server.response_buffer.pop(uid, None)

        return StreamingResponse(pieces())


class RequestMetrics:
    """ASGI middleware: each request to ``routes`` counted by status code, and its latency."""

    def __init__(self, app: ASGIApp, routes: frozenset[str]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path not in self.routes:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            metrics.count_request(path, status[0], time.perf_counter() - started)

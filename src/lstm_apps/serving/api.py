"""The LitAPI every app's endpoint builds on: the checkpoint's model and predictor in each model
process, one batched call per batch of requests, and errors as HTTP answers.

An app's endpoint (``apps/<app>/serving.py``) subclasses ``AppAPI``: ``decode_request`` takes the
app's pydantic request (its annotation is the OpenAPI schema and FastAPI's validation) and checks
what a schema cannot (lengths against ``serve.max_input_chars``, decodable images and audio);
``answer`` turns a list of decoded requests into a list of JSON-ready answers through the app's
``Predictor`` — the same batching, ``predict_step`` and formatting as ``lstm-apps predict``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from queue import Empty, Queue
from typing import Any, ClassVar

import litserve as ls
from fastapi import HTTPException
from litserve.loops import BatchedLoop

from lstm_apps.errors import UserError
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.predictor import Predictor, predictor_for
from lstm_apps.serving.settings import ServeSettings

logger = logging.getLogger("lstm_apps.serving")

# How long an idle model process blocks on its queue before looking again (no busy polling).
IDLE_WAIT_S = 0.5


class BadRequest(HTTPException):
    """A request the model cannot take: ``field: what is wrong`` as one line, status 4xx."""

    def __init__(self, field: str, message: str, status_code: int = 422) -> None:
        super().__init__(status_code=status_code, detail=f"{field}: {message}")


class _Prefetched:
    """A request queue whose first item was already taken (to block on it without spinning)."""

    def __init__(self, first: Any, queue: Queue) -> None:
        self.first: list[Any] = [first]
        self.queue = queue

    def get_nowait(self) -> Any:
        return self.first.pop() if self.first else self.queue.get_nowait()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        return self.first.pop() if self.first else self.queue.get(block=block, timeout=timeout)


class TakeWhatIsQueued(BatchedLoop):
    """LitServe's batched loop, except that an idle process blocks for the next request instead of
    polling, and a batch is the first request plus whatever queued behind it while the model was
    busy (and, with ``batch_timeout`` > 0, what arrives that much later): a lone request is answered
    at once, and under load the batches grow by themselves."""

    def get_batch_requests(
        self, lit_api: ls.LitAPI, request_queue: Queue, transport: Any
    ) -> tuple[list, list]:
        try:
            first = request_queue.get(timeout=IDLE_WAIT_S)
        except Empty:
            return [], []
        return super().get_batch_requests(lit_api, _Prefetched(first, request_queue), transport)  # type: ignore[arg-type]


class AppAPI(ls.LitAPI):
    """One endpoint of the checkpoint at ``ckpt_path``; subclasses implement ``answer`` (and, for a
    streaming endpoint, ``stream``). Picklable: the model is loaded in ``setup``, in each model
    process."""

    # Set by subclasses: what the route does, for the OpenAPI page.
    summary: ClassVar[str] = ""
    default_path: ClassVar[str] = "/predict"
    streams: ClassVar[bool] = False

    def __init__(self, ckpt_path: str, settings: ServeSettings) -> None:
        batch = 1 if self.streams else settings.max_batch_size
        super().__init__(
            max_batch_size=batch,
            batch_timeout=settings.batch_timeout,
            api_path=self.default_path,
            stream=self.streams,
            loop=TakeWhatIsQueued() if batch > 1 else "auto",
        )
        self.ckpt_path = ckpt_path
        self.settings = settings
        self.predictor: Predictor | None = None

    # -- model process ---------------------------------------------------------------------------
    def setup(self, device: str) -> None:
        info = read_checkpoint(self.ckpt_path)
        model = model_from_checkpoint(info).to(device).eval()
        predictor_type = predictor_for(info.app)
        self.predictor = predictor_type(model, predictor_type.options_type(), str(device), direct=True)
        logger.info("model process ready: %s on %s (%s)", info.app, device, self.api_path)

    @property
    def model(self) -> Any:
        return self.the_predictor.model

    @property
    def the_predictor(self) -> Any:
        if self.predictor is None:
            raise RuntimeError("setup() has not run in this process")
        return self.predictor

    def predict(self, x: Any, **kwargs: Any) -> Any:
        """One batched ``answer`` for the batch (a single request when batching is off); an error
        in the model is a 500 that says what went wrong, and is logged with its traceback."""
        batched = self.max_batch_size > 1
        items = list(x) if batched else [x]
        try:
            answers = self.answer(items)
        except HTTPException:
            raise
        except UserError as err:
            raise HTTPException(status_code=422, detail=str(err)) from None
        except Exception as err:
            logger.exception("model error on a batch of %d request(s)", len(items))
            raise HTTPException(status_code=500, detail=f"model error: {type(err).__name__}: {err}") from None
        return answers if batched else answers[0]

    def answer(self, items: list[Any]) -> list[Any]:
        """JSON-ready answers, one per decoded request, in order."""
        raise NotImplementedError

    def encode_response(self, output: Any, **kwargs: Any) -> Any:
        return output

    # -- checks decode_request shares ------------------------------------------------------------
    def text(self, field: str, value: str, allow_empty: bool = False) -> str:
        """``value`` if it is within ``serve.max_input_chars`` (and, unless ``allow_empty``, not
        blank); otherwise a 422/413 naming ``field``."""
        if not allow_empty and not value.strip():
            raise BadRequest(field, "empty; give some text")
        limit = self.settings.max_input_chars
        if len(value) > limit:
            raise BadRequest(
                field, f"{len(value)} characters, more than serve.max_input_chars={limit}", status_code=413
            )
        return value


class StreamingAppAPI(AppAPI):
    """An endpoint that answers one request piece by piece (``pieces`` yields JSON-ready pieces,
    sent as one JSON object per line). LitServe asks for generator functions here."""

    streams = True

    def predict(self, x: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            yield from self.pieces(x)
        except HTTPException:
            raise
        except Exception as err:
            logger.exception("model error while streaming")
            raise HTTPException(status_code=500, detail=f"model error: {type(err).__name__}: {err}") from None

    def pieces(self, item: Any) -> Iterator[Any]:
        raise NotImplementedError

    def encode_response(self, output: Any, **kwargs: Any) -> Iterator[Any]:
        yield from output

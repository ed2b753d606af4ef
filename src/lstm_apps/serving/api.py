"""The LitAPI every app's endpoint builds on: the checkpoint's model and predictor in each model
process, one batched call per batch of requests, and errors as HTTP answers.

An app's endpoint (``apps/<app>/serving.py``) subclasses ``AppAPI``: ``decode_request`` takes the
app's pydantic request (its annotation is the OpenAPI schema and FastAPI's validation) and checks
what a schema cannot (lengths against ``serve.max_input_chars``, decodable images and audio);
``answer`` turns a list of decoded requests into a list of JSON-ready answers through the app's
``Predictor`` — the same batching, ``predict_step`` and formatting as ``lstm-apps predict``.
"""

from __future__ import annotations

import gc
import inspect
import logging
import os
from collections.abc import Iterator
from queue import Empty, Queue
from typing import Any, ClassVar

import litserve as ls
import torch
from fastapi import HTTPException
from litserve.callbacks import EventTypes
from litserve.loops import BatchedLoop
from litserve.loops.base import _StopLoopError
from litserve.loops.streaming_loops import StreamingLoop
from litserve.utils import LitAPIStatus, LoopResponseType, PickleableHTTPException

from lstm_apps.errors import UserError
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.predictor import Predictor, predictor_for
from lstm_apps.pipeline.quantization import apply_quantization
from lstm_apps.serving import metrics
from lstm_apps.serving.settings import ServeSettings
from lstm_apps.serving.workers import WorkerBoard

logger = logging.getLogger("lstm_apps.serving")

# How long an idle model process blocks on its queue before looking again (no busy polling).
IDLE_WAIT_S = 0.5


def settle_the_heap() -> None:
    """Collect once, then leave the objects that live as long as the process (modules, the model)
    out of every later collection: the first full collection over torch's and Lightning's objects
    took about 250 ms, a request stalled that long in each new process (docs/serving.md)."""
    gc.collect()
    gc.freeze()


class BadRequest(HTTPException):
    """A request the model cannot take: ``field: what is wrong`` as one line, status 4xx."""

    def __init__(self, field: str, message: str, status_code: int = 422) -> None:
        super().__init__(status_code=status_code, detail=f"{field}: {message}")


class _Prefetched:
    """A request queue whose first item was already taken (to block on it without spinning);
    ``queue=None``: nothing else is taken."""

    def __init__(self, first: Any, queue: Queue | None) -> None:
        self.first: list[Any] = [first]
        self.queue = queue

    def get_nowait(self) -> Any:
        if self.first:
            return self.first.pop()
        if self.queue is None:
            raise Empty
        return self.queue.get_nowait()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if self.first:
            return self.first.pop()
        if self.queue is None:
            raise Empty
        return self.queue.get(block=block, timeout=timeout)


class TakeWhatIsQueued(BatchedLoop):
    """The model process's loop: blocks for the next request (no polling); a request that finds the
    process idle is answered at once, and a batch is a request plus whatever queued behind it
    while the model was busy (and, with ``batch_timeout`` > 0, what arrives that much later), so a
    lone request pays nothing for batching and under load the batches grow by themselves.

    Each request is decoded on its own: one that cannot be (a 4xx) is answered alone, and the rest
    of its batch goes on, where LitServe's own batched loop would fail the whole batch with it.
    The batch's addresses are on the endpoint's ``WorkerBoard`` while it is decoded, so that the
    server can answer them should this process die."""

    def get_batch_requests(
        self, lit_api: ls.LitAPI, request_queue: Queue, transport: Any
    ) -> tuple[list, list]:
        try:  # something already queued: the process was busy, so look for more behind it
            first = request_queue.get_nowait()
            behind: Queue | None = request_queue
        except Empty:  # idle: block until a request comes, and answer it alone at once
            try:
                first = request_queue.get(timeout=IDLE_WAIT_S)
            except Empty:
                return [], []
            behind = None
        return super().get_batch_requests(lit_api, _Prefetched(first, behind), transport)

    def run_batched_loop(
        self,
        lit_api: ls.LitAPI,
        request_queue: Queue,
        transport: Any,
        callback_runner: Any,
        lit_spec: Any = None,
    ) -> None:
        while True:
            try:
                batch, timed_out = self.get_batch_requests(lit_api, request_queue, transport)
            except _StopLoopError:
                return
            for queue_id, uid in timed_out:
                self.answer_error(transport, queue_id, uid, HTTPException(504, "Request timed out"))
            if not batch:
                continue
            board: WorkerBoard = lit_api.board
            board.hold(self.worker_id or 0, [(queue_id, uid) for queue_id, uid, _ in batch])
            metrics.observe_batch(lit_api.api_path, len(batch))
            try:
                self.answer_requests(lit_api, batch, transport, callback_runner)
            finally:
                board.hold(self.worker_id or 0, [])

    def answer_requests(self, lit_api: ls.LitAPI, batch: list, transport: Any, callback_runner: Any) -> None:
        """Decode each request of ``batch``, predict the decodable ones together, answer all."""
        decoded = []
        for queue_id, uid, payload in batch:
            try:
                decoded.append((queue_id, uid, lit_api.decode_request(payload)))
            except HTTPException as err:
                self.answer_error(transport, queue_id, uid, err)
            except Exception as err:
                logger.exception("could not decode a request")
                self.answer_error(transport, queue_id, uid, HTTPException(500, f"decoding error: {err}"))
        if not decoded:
            return
        callback_runner.trigger_event(EventTypes.BEFORE_PREDICT.value, lit_api=lit_api)
        try:
            outputs = lit_api.predict([item for _, _, item in decoded])
            answers = [lit_api.encode_response(output) for output in outputs]
        except HTTPException as err:
            for queue_id, uid, _ in decoded:
                self.answer_error(transport, queue_id, uid, err)
            return
        finally:
            callback_runner.trigger_event(EventTypes.AFTER_PREDICT.value, lit_api=lit_api)
        self.answer_batch(transport, [(queue_id, uid) for queue_id, uid, _ in decoded], answers)

    def answer_batch(self, transport: Any, addresses: list[tuple[int, str]], answers: list[Any]) -> None:
        """The answers, one message per front end where the transport takes that (``send_all``)."""
        if not hasattr(transport, "send_all"):
            for (queue_id, uid), answer in zip(addresses, answers, strict=True):
                self.put_response(transport, queue_id, uid, answer, LitAPIStatus.OK, LoopResponseType.REGULAR)
            return
        by_front_end: dict[int, list[Any]] = {}
        for (queue_id, uid), answer in zip(addresses, answers, strict=True):
            message = (uid, (answer, LitAPIStatus.OK, LoopResponseType.REGULAR, self.worker_id))
            by_front_end.setdefault(queue_id, []).append(message)
        for queue_id, messages in by_front_end.items():
            transport.send_all(messages, queue_id)

    def answer_error(self, transport: Any, queue_id: int, uid: str, error: HTTPException) -> None:
        self.put_response(
            transport,
            queue_id,
            uid,
            PickleableHTTPException.from_exception(error),
            LitAPIStatus.ERROR,
            LoopResponseType.REGULAR,
        )


class _HoldingQueue:
    """A request queue that puts each request taken onto the board as the one held now (a
    streaming endpoint takes one at a time, and the next only once the last has ended)."""

    def __init__(self, queue: Queue, board: WorkerBoard, worker: int) -> None:
        self.queue, self.board, self.worker = queue, board, worker

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        item = self.queue.get(block, timeout)
        if isinstance(item, tuple) and len(item) == 4 and isinstance(item[1], str):
            self.board.hold(self.worker, [(item[0], item[1])])
        return item


class HoldingStreamingLoop(StreamingLoop):
    """LitServe's streaming loop, with the request being streamed on the endpoint's board."""

    def run_streaming_loop(
        self,
        lit_api: ls.LitAPI,
        request_queue: Queue,
        transport: Any,
        callback_runner: Any,
        lit_spec: Any = None,
    ) -> None:
        held = _HoldingQueue(request_queue, lit_api.board, self.worker_id or 0)
        super().run_streaming_loop(lit_api, held, transport, callback_runner)


class AppAPI(ls.LitAPI):
    """One endpoint of the checkpoint at ``ckpt_path``; subclasses implement ``answer`` (and, for a
    streaming endpoint, ``stream``). Picklable: the model is loaded in ``setup``, in each model
    process."""

    # Set by subclasses: what the route does, for the OpenAPI page.
    summary: ClassVar[str] = ""
    default_path: ClassVar[str] = "/predict"
    streams: ClassVar[bool] = False

    def __init__(self, ckpt_path: str, settings: ServeSettings, prefix: str = "", models: int = 1) -> None:
        """``prefix``: the route's (``/classifier`` when a server holds several models);
        ``models``: how many the server holds, who share the CPU's cores."""
        # Batching off is the same loop with batches of one, so the two compare like for like.
        super().__init__(
            max_batch_size=1 if self.streams else settings.max_batch_size,
            batch_timeout=settings.batch_timeout,
            api_path=prefix + self.default_path,
            stream=self.streams,
            loop=HoldingStreamingLoop() if self.streams else TakeWhatIsQueued(),
        )
        self.ckpt_path = ckpt_path
        self.settings = settings
        self.models = models
        self.predictor: Predictor | None = None
        self.board: WorkerBoard | None = None  # the server sets it before the model processes start

    # -- model process ---------------------------------------------------------------------------
    def setup(self, device: str) -> None:
        if torch.device(device).type == "cpu":
            torch.set_num_threads(self.settings.threads_per_model_process(self.models))
        info = read_checkpoint(self.ckpt_path)
        model = model_from_checkpoint(info).to(device).eval()
        quantized = apply_quantization(model, self.settings.quantize, device)
        predictor_type = predictor_for(info.app)
        self.predictor = predictor_type(model, predictor_type.options_type(), str(device), direct=True)
        self.warm_up()
        settle_the_heap()
        if self.board is not None:
            self.board.set_ready(int(os.environ.get("LITSERVE_WORKER_ID", "0")), os.getpid())
        logger.info(
            "model process ready: %s on %s (%s)%s",
            info.app,
            device,
            self.api_path,
            f", {quantized} recurrent layers in {self.settings.quantize}" if quantized else "",
        )

    def warm_up(self) -> None:
        """Answer ``warm_up_request()`` once, so that the first client's request does not pay for
        what a model's first call does (allocations, kernels chosen); a refusal is logged, as it
        is this project's fault, not a client's."""
        request = self.warm_up_request()
        if request is None:
            return
        try:
            self.answer([self.decode_request(request)])
        except Exception as err:  # a warm-up that fails must not stop serving
            detail = err.detail if isinstance(err, HTTPException) else f"{type(err).__name__}: {err}"
            logger.warning("%s: the warm-up request failed: %s", self.api_path, detail)

    def warm_up_request(self) -> Any:
        """A request of this endpoint's schema that this checkpoint answers; by default built from
        the examples of the request's fields (``None``: no warm-up). Endpoints whose requests
        depend on the checkpoint (columns, lengths) or are uploads build their own."""
        request_type = inspect.signature(self.decode_request).parameters["request"].annotation
        fields = getattr(request_type, "model_fields", None)
        if fields is None:
            return None
        values = {name: field.examples[0] for name, field in fields.items() if field.examples}
        try:
            return request_type.model_validate(values)
        except ValueError:
            return None

    @property
    def model(self) -> Any:
        return self.the_predictor.model

    @property
    def the_predictor(self) -> Any:
        if self.predictor is None:
            raise RuntimeError("setup() has not run in this process")
        return self.predictor

    def predict(self, x: Any, **kwargs: Any) -> Any:
        """One batched ``answer`` for the decoded requests of a batch (``TakeWhatIsQueued`` hands
        a list, also of one); an error in the model is a 500 that says what went wrong, and is
        logged with its traceback."""
        items = list(x)
        try:
            answers = self.answer(items)
        except HTTPException:
            raise
        except UserError as err:
            raise HTTPException(status_code=422, detail=str(err)) from None
        except Exception as err:
            logger.exception("model error on a batch of %d request(s)", len(items))
            raise HTTPException(status_code=500, detail=f"model error: {type(err).__name__}: {err}") from None
        return answers

    def answer(self, items: list[Any]) -> list[Any]:
        """JSON-ready answers, one per decoded request, in order."""
        raise NotImplementedError

    def encode_response(self, output: Any, **kwargs: Any) -> Any:
        """``output`` as it is: an endpoint annotates its own ``encode_response`` with its
        pydantic response, which FastAPI checks and writes in the HTTP front end, so the model
        process does not build that model too."""
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

    def answer(self, items: list[Any]) -> list[Any]:
        """Each item's pieces, gathered (what the warm-up runs)."""
        return [list(self.pieces(item)) for item in items]

    def encode_response(self, output: Any, **kwargs: Any) -> Iterator[Any]:
        yield from output

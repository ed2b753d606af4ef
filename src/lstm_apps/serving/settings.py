"""The ``serve.*`` keys: one dataclass whose annotations are the keys' allowed values."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated, Literal

from annotated_types import Ge, Le

from lstm_apps.bounds import Count, NonNegative, Positive, PositiveReal, Quantization
from lstm_apps.pipeline.quantization import refuse_off_the_cpu

Port = Annotated[int, Ge(1), Le(65535)]


@dataclass
class ServeSettings:
    """How ``lstm-apps serve`` listens, batches and limits requests.

    ``host``: ``127.0.0.1`` answers this machine only (the default; put a reverse proxy in front to
    publish it), ``0.0.0.0`` / ``::`` every interface. ``max_batch_size`` and ``batch_timeout``
    (seconds) drive dynamic batching: a model process takes every request queued while it was busy,
    up to ``max_batch_size``, and decodes them as one batch; ``batch_timeout`` > 0 also waits that
    long for more (a lone request then waits too); ``max_batch_size=1`` turns batching off.
    ``workers_per_device``: model processes per device; ``accelerator``: where they run;
    ``cpu_threads``: torch threads per model process on a CPU (0: the cores shared out among the
    model processes and the HTTP front end, which needs a core of its own to keep the batches fed).
    ``quantize``: ``int8`` serves the recurrent layers with int8 weights (CPU only; ``auto`` then
    means the CPU): 1.1-2.3x the float32 requests per second on a CPU, by model (docs/serving.md).
    ``api_servers``: HTTP front-end processes. ``max_input_chars`` bounds every text field and
    ``max_upload_mb`` every request body (an image or audio upload included).

    Overload and failure: ``max_queue`` requests of a model may wait beyond the batches being
    decoded; one more is answered 503 with ``Retry-After`` at once, so a flood costs the server no
    memory and tells a client or load balancer to back off. ``request_timeout``: seconds a request
    may wait for its answer before a 504 (a request still queued then is dropped, not decoded).
    A model process that dies is replaced (its requests in flight answered 503); one that dies
    again within ``restart_window`` seconds of its start stops the server with one line and exit
    code 3, for a supervisor to act on. ``drain_timeout``: seconds SIGTERM waits for the requests
    in flight.
    """

    host: Literal["127.0.0.1", "0.0.0.0", "::"] = "127.0.0.1"
    port: Port = 8000
    max_batch_size: Positive = 32
    batch_timeout: NonNegative = 0.0
    workers_per_device: Positive = 1
    accelerator: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    cpu_threads: Count = 0
    quantize: Quantization = "none"
    api_servers: Positive = 1
    max_input_chars: Positive = 5000
    max_upload_mb: PositiveReal = 20.0
    max_queue: Positive = 256
    request_timeout: PositiveReal = 60.0
    restart_window: NonNegative = 60.0
    drain_timeout: PositiveReal = 30.0

    def __post_init__(self) -> None:
        refuse_off_the_cpu(self.quantize, "serve.accelerator", self.accelerator, "serve.quantize")

    def device_kind(self) -> Literal["auto", "cpu", "cuda", "mps"]:
        """The accelerator the model processes are started on: int8 layers run on the CPU only."""
        return "cpu" if self.quantize != "none" and self.accelerator == "auto" else self.accelerator

    @property
    def batching(self) -> bool:
        return self.max_batch_size > 1

    def threads_per_model_process(self, models: int = 1) -> int:
        """``cpu_threads``, or the cores left after one for the front end, shared among the model
        processes of the ``models`` served (at least one each)."""
        if self.cpu_threads:
            return self.cpu_threads
        return max(1, ((os.cpu_count() or 1) - self.api_servers) // (self.workers_per_device * models))

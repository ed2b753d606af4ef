"""Model processes that die: the requests each held, read after its death from memory it shared
with the server, answered 503; the process replaced; the server stopped with one line when a
replacement dies again too soon.

LitServe's own answer to a dead model process is to stop the whole server (or, with
``restart_workers``, to fail requests through a buffer that lives in the HTTP front ends, where
its monitor in the main process cannot see them). Here each model process writes the addresses
of the requests it holds (front end, request id) into a ``WorkerBoard`` slot before decoding them;
the main process reads the slot of a dead one and writes the 503s into the front ends' answer
pipes, as a model process would have written the answers.
"""

from __future__ import annotations

import logging
import signal
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from litserve.utils import LitAPIStatus, LoopResponseType, PickleableHTTPException
from starlette.exceptions import HTTPException

logger = logging.getLogger("lstm_apps.serving")

UID_BYTES = 36  # str(uuid.uuid4())
ENTRY = struct.Struct(f"!B{UID_BYTES}s")  # front end, request id
HEAD = struct.Struct("!BIH")  # ready, process id, requests held
STARTING, READY = 0, 1
CHECK_EVERY_S = 0.2


class WorkerBoard:
    """Memory the model processes of one endpoint share with the server and its front ends: per
    process, whether it is ready (model loaded, warm-up answered) and which requests it holds now.
    Made in the main process before the others start; spawned processes get it pickled at their
    start, forked front ends inherit it."""

    def __init__(self, context: BaseContext, workers: int, max_batch: int) -> None:
        self.workers = workers
        self.max_batch = max_batch
        self.slot = HEAD.size + ENTRY.size * max_batch
        self.memory = context.RawArray("B", workers * self.slot)

    def _view(self) -> memoryview:
        return memoryview(self.memory).cast("B")

    def ready(self, worker: int) -> bool:
        return HEAD.unpack_from(self._view(), worker * self.slot)[0] == READY

    def all_ready(self) -> bool:
        return all(self.ready(worker) for worker in range(self.workers))

    def process_ids(self) -> list[int]:
        """The ready processes' ids (for ``/info``: which process to look at, or to stop)."""
        heads = (HEAD.unpack_from(self._view(), worker * self.slot) for worker in range(self.workers))
        return [pid for ready, pid, _ in heads if ready == READY]

    def set_ready(self, worker: int, pid: int) -> None:
        view = self._view()
        HEAD.pack_into(view, worker * self.slot, READY, pid, HEAD.unpack_from(view, worker * self.slot)[2])

    def reset(self, worker: int) -> None:
        """A process about to start in this slot: not ready, holding nothing."""
        HEAD.pack_into(self._view(), worker * self.slot, STARTING, 0, 0)

    def hold(self, worker: int, addresses: list[tuple[int, str]]) -> None:
        """The requests ``worker`` holds from now on (``[]`` once it has answered them)."""
        view = self._view()
        start = worker * self.slot
        ready, pid, _ = HEAD.unpack_from(view, start)
        HEAD.pack_into(view, start, ready, pid, 0)  # the count last: a reader never sees half an entry
        for i, (front_end, uid) in enumerate(addresses[: self.max_batch]):
            ENTRY.pack_into(view, start + HEAD.size + i * ENTRY.size, front_end, uid.encode("ascii"))
        HEAD.pack_into(view, start, ready, pid, min(len(addresses), self.max_batch))

    def holding(self) -> int:
        """Requests the processes hold now, all together (being decoded)."""
        return sum(HEAD.unpack_from(self._view(), worker * self.slot)[2] for worker in range(self.workers))

    def held(self, worker: int) -> list[tuple[int, str]]:
        view = self._view()
        start = worker * self.slot
        count = HEAD.unpack_from(view, start)[2]
        entries = (ENTRY.unpack_from(view, start + HEAD.size + i * ENTRY.size) for i in range(count))
        return [(front_end, uid.decode("ascii")) for front_end, uid in entries]


def how_it_ended(exitcode: int | None) -> str:
    """``killed by SIGKILL`` or ``exited with code 1``, from a process's exit code."""
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
        # (a process the kernel's OOM killer ends reads as SIGKILL)
    return f"exited with code {exitcode}"


@dataclass
class ModelProcess:
    """One model process as the supervisor follows it: its endpoint, its index among that
    endpoint's processes, and when it was last replaced (``None``: never)."""

    api: Any
    worker: int
    process: BaseProcess
    replaced_at: float | None = None


class Supervisor:
    """A thread in the main process: replaces a model process that died (its requests answered
    503 first), and stops the server, naming the cause, when a replacement dies within
    ``restart_window`` seconds or an HTTP front end dies.

    ``start_worker(api, worker)`` starts a model process; ``answer(front_end, items)`` writes
    answers into a front end's pipe; ``stop(reason)`` ends the server."""

    def __init__(
        self,
        processes: list[ModelProcess],
        front_ends: list[BaseProcess],
        restart_window: float,
        start_worker: Callable[[Any, int], BaseProcess],
        answer: Callable[[int, list[Any]], None],
        stop: Callable[[str], None],
        stopping: Callable[[], bool],
        on_restart: Callable[[Any], None] = lambda api: None,
    ) -> None:
        self.processes = processes
        self.front_ends = front_ends
        self.restart_window = restart_window
        self.start_worker = start_worker
        self.answer = answer
        self.stop = stop
        self.stopping = stopping
        self.on_restart = on_restart
        self.thread = threading.Thread(target=self.watch, name="lstm-apps-supervisor", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def watch(self) -> None:
        while not self.stopping():
            for front_end in self.front_ends:
                if not front_end.is_alive() and not self.stopping():
                    self.stop(f"the HTTP front end {front_end.name} {how_it_ended(front_end.exitcode)}")
                    return
            for entry in self.processes:
                if entry.process.is_alive() or self.stopping():
                    continue
                if not self.replace(entry):
                    return
            time.sleep(CHECK_EVERY_S)

    def replace(self, entry: ModelProcess) -> bool:
        """Answer what ``entry`` held with 503 and start its replacement; ``False``: it died too
        soon after the last replacement, and the server is stopping."""
        path = entry.api.api_path
        cause = how_it_ended(entry.process.exitcode)
        held = entry.api.board.held(entry.worker)
        self.fail(entry, held, f"the model process answering {path} {cause}; retry")
        now = time.monotonic()
        if entry.replaced_at is not None and now - entry.replaced_at < self.restart_window:
            self.stop(
                f"the model process answering {path} {cause} again {now - entry.replaced_at:.0f} s after it "
                f"was replaced (serve.restart_window={self.restart_window:g} s)"
            )
            return False
        logger.error(
            "the model process answering %s %s; %d request(s) it held answered 503; starting a new one",
            path,
            cause,
            len(held),
        )
        entry.api.board.reset(entry.worker)
        entry.process = self.start_worker(entry.api, entry.worker)
        entry.replaced_at = now
        self.on_restart(entry.api)
        return True

    def fail(self, entry: ModelProcess, held: list[tuple[int, str]], detail: str) -> None:
        kind = LoopResponseType.STREAMING if entry.api.stream else LoopResponseType.REGULAR
        error = PickleableHTTPException.from_exception(HTTPException(503, detail))
        by_front_end: dict[int, list[Any]] = {}
        for front_end, uid in held:
            by_front_end.setdefault(front_end, []).append(
                (uid, (error, LitAPIStatus.ERROR, kind, entry.worker))
            )
        for front_end, items in by_front_end.items():
            self.answer(front_end, items)

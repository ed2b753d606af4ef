"""Answers from the model processes to the HTTP front ends: one pipe per front end, read by its
event loop when the pipe has data, and one message per batch.

LitServe's process transport hands every answer to a thread (``asyncio.to_thread`` around a
blocking ``Queue.get``) and back to the event loop, and its queue's feeder thread pickles each
answer in the model process: two thread hand-offs per answer on each side. Here a model process
writes a batch's answers as one message, and the front end's loop reads the pipe itself
(``loop.add_reader``) with no thread in between (docs/serving.md has what it bought).
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.reduction import ForkingPickler
from typing import Any

from litserve.transport.base import MessageTransport

HEADER = struct.Struct("!Q")  # a message's length in bytes
READ_SIZE = 1 << 20


class AnswerPipe:
    """One front end's pipe: model processes write whole messages (a length, then the pickled
    items) under a lock, as several may share it; the front end reads. Picklable to spawned
    processes, inherited by forked ones."""

    def __init__(self, context: BaseContext) -> None:
        self.reader, self.writer = context.Pipe(duplex=False)
        self.lock = context.Lock()

    def write(self, items: list[Any]) -> None:
        data = ForkingPickler.dumps(items)
        message = memoryview(HEADER.pack(len(data)) + data)
        with self.lock:
            while message:
                message = message[os.write(self.writer.fileno(), message) :]


class _Inbox:
    """The answers a front end has read and not yet handed to LitServe, and the coroutine waiting
    for them; lives in the front end's process, bound to its event loop.

    The pipe is read without blocking (an event loop may set that anyway: uvloop does), so a
    message the model process is still writing is kept in ``pending`` until it is whole."""

    def __init__(self, reader: Connection, loop: asyncio.AbstractEventLoop) -> None:
        self.fd = reader.fileno()
        self.loop = loop
        self.pending = bytearray()
        self.items: deque[Any] = deque()
        self.waiter: asyncio.Future[None] | None = None
        os.set_blocking(self.fd, False)
        loop.add_reader(self.fd, self.read_available)

    def read_available(self) -> None:
        """What the pipe holds now, unpickled message by message as each is whole."""
        while True:
            try:
                chunk = os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                break
            if not chunk:  # every writer gone: the server is shutting down
                self.loop.remove_reader(self.fd)
                break
            self.pending += chunk
        self.unpack_whole_messages()
        if self.items and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def unpack_whole_messages(self) -> None:
        start = 0
        while len(self.pending) - start >= HEADER.size:
            (length,) = HEADER.unpack_from(self.pending, start)
            end = start + HEADER.size + length
            if end > len(self.pending):
                break
            self.items.extend(ForkingPickler.loads(self.pending[start + HEADER.size : end]))
            start = end
        del self.pending[:start]

    async def next(self) -> Any:
        while not self.items:
            self.waiter = self.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.popleft()

    def close(self) -> None:
        self.loop.remove_reader(self.fd)


class PipeTransport(MessageTransport):
    """LitServe's ``MessageTransport`` over ``AnswerPipe``s, one per front end (``consumer_id``).

    ``send`` is what LitServe's loops call for each answer; ``send_all`` is a batch's answers to
    one front end as one message."""

    def __init__(self, pipes: list[AnswerPipe]) -> None:
        self.pipes = pipes
        self._inboxes: dict[int, _Inbox] = {}
        self._owner = os.getpid()
        self._closed = False

    def __getstate__(self) -> dict[str, Any]:
        return {"pipes": self.pipes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["pipes"])  # type: ignore[misc]

    def send(self, item: Any, consumer_id: int) -> None:
        self.pipes[consumer_id].write([item])

    def send_all(self, items: list[Any], consumer_id: int) -> None:
        if items:
            self.pipes[consumer_id].write(items)

    async def areceive(self, consumer_id: int = 0, timeout: float | None = None, block: bool = True) -> Any:
        if self._closed:
            raise asyncio.CancelledError("transport closed")
        inbox = self._inbox(consumer_id)
        if timeout is None:
            return await inbox.next()
        try:
            return await asyncio.wait_for(inbox.next(), timeout)
        except TimeoutError:
            return None

    def _inbox(self, consumer_id: int) -> _Inbox:
        if self._owner != os.getpid():  # forked after an inbox was made: that one is the parent's
            self._inboxes, self._owner = {}, os.getpid()
        inbox = self._inboxes.get(consumer_id)
        if inbox is None:
            inbox = _Inbox(self.pipes[consumer_id].reader, asyncio.get_running_loop())
            self._inboxes[consumer_id] = inbox
        return inbox

    def close(self, send_sentinel: bool = True, **kwargs: Any) -> None:
        self._closed = True
        for inbox in self._inboxes.values():
            try:
                inbox.close()
            except (RuntimeError, ValueError, OSError):  # the loop or pipe is already gone
                pass
        self._inboxes.clear()

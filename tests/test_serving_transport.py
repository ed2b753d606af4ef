"""The answers' way back to an HTTP front end (``serving/transport.py``): whole messages in order
however the pipe splits them, one message per batch, on the loops uvicorn may run, and no thread
in between; and the model process's heap settled before it serves."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import pytest

from lstm_apps.serving.api import TakeWhatIsQueued, settle_the_heap
from lstm_apps.serving.transport import AnswerPipe, PipeTransport

FORK = multiprocessing.get_context("fork")


def loop_factories() -> list[Callable[[], asyncio.AbstractEventLoop]]:
    factories: list[Callable[[], asyncio.AbstractEventLoop]] = [asyncio.new_event_loop]
    try:
        import uvloop  # uvicorn's loop where installed; it sets the pipe non-blocking itself
    except ImportError:
        return factories
    return [*factories, uvloop.new_event_loop]


def receive(transport: PipeTransport, count: int, loop: asyncio.AbstractEventLoop) -> list[Any]:
    async def take() -> list[Any]:
        return [await asyncio.wait_for(transport.areceive(0), 20) for _ in range(count)]

    return loop.run_until_complete(take())


def write_from_another_process(pipe: AnswerPipe, messages: list[list[Any]]) -> Any:
    def write() -> None:
        for items in messages:
            pipe.write(items)

    process = FORK.Process(target=write)
    process.start()
    return process


@pytest.mark.parametrize("new_loop", loop_factories())
def test_messages_larger_than_the_pipe_arrive_whole_and_in_order(new_loop: Callable[[], Any]) -> None:
    pipe = AnswerPipe(FORK)
    transport = PipeTransport([pipe])
    big = "x" * (3 << 20)  # far beyond a pipe's buffer: read in many pieces as it is written
    messages = [[("a", 1)], [("b", big), ("c", 3)], [("d", 4)]]
    loop = new_loop()
    try:
        writer = write_from_another_process(pipe, messages)
        got = receive(transport, 4, loop)
        writer.join(10)
    finally:
        transport.close()
        loop.close()
    assert [uid for uid, _ in got] == ["a", "b", "c", "d"]
    assert got[1][1] == big


@pytest.mark.parametrize("new_loop", loop_factories())
def test_answers_are_read_on_the_event_loop_not_in_a_thread(new_loop: Callable[[], Any]) -> None:
    pipe = AnswerPipe(FORK)
    transport = PipeTransport([pipe])
    loop = new_loop()
    threads_before = set(threading.enumerate())
    try:
        writer = write_from_another_process(pipe, [[i] for i in range(200)])
        got = receive(transport, 200, loop)
        writer.join(10)
        assert not set(threading.enumerate()) - threads_before  # no thread started to read
    finally:
        transport.close()
        loop.close()
    assert got == list(range(200))


def test_a_transport_that_crossed_to_another_process_writes_to_the_same_pipe() -> None:
    pipe = AnswerPipe(FORK)
    transport = PipeTransport([pipe])
    state = transport.__getstate__()  # what pickling carries to a spawned model process
    assert set(state) == {"pipes"}  # no inbox, loop or process id crosses
    loop = asyncio.new_event_loop()
    try:
        rebuilt = PipeTransport.__new__(PipeTransport)
        rebuilt.__setstate__(state)
        rebuilt.send_all([("u1", "one"), ("u2", "two")], 0)
        rebuilt.send(("u3", "three"), 0)
        assert receive(transport, 3, loop) == [("u1", "one"), ("u2", "two"), ("u3", "three")]
    finally:
        transport.close()
        loop.close()


class _Recording:
    def __init__(self) -> None:
        self.messages: list[tuple[int, list[Any]]] = []

    def send(self, item: Any, consumer_id: int) -> None:
        self.messages.append((consumer_id, [item]))

    def send_all(self, items: list[Any], consumer_id: int) -> None:
        self.messages.append((consumer_id, list(items)))


def test_a_batch_is_one_message_per_front_end() -> None:
    transport = _Recording()
    addresses = [(0, "a"), (1, "b"), (0, "c")]
    TakeWhatIsQueued().answer_batch(transport, addresses, ["A", "B", "C"])
    assert [(front_end, [uid for uid, _ in items]) for front_end, items in transport.messages] == [
        (0, ["a", "c"]),
        (1, ["b"]),
    ]
    assert transport.messages[0][1][0][1][0] == "A"  # (uid, (answer, status, type, worker))


def test_the_heap_is_settled_once_the_model_is_loaded() -> None:
    before = gc.get_freeze_count()
    try:
        settle_the_heap()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()

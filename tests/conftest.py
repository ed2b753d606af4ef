"""Shared fixtures. Plain functions (configs, runners, data writers, the TINY registry) live in
``tests/helpers``: tests import them from there, never from this file."""

from __future__ import annotations

import os

# One torch thread per process, set before torch is first imported (the child processes inherit
# it): with two test workers, DDP ranks and child commands sharing two cores, more threads per
# process only contend. The suite went from 7 min 16 s to under 5 minutes with it on this machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.serving import stop_shared_servers, use_folder
from lstm_apps.apps.textgen.tiny import write_tiny_corpus


@pytest.fixture(scope="session", autouse=True)
def shared_tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tiny models trained once per test process and the servers kept for them
    (``helpers.serving``): written in the session's folder, stopped when it ends."""
    use_folder(tmp_path_factory.mktemp("served"))
    yield
    stop_shared_servers()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``serves(app)`` side by side, where the first of them was collected: the
    workers take neighbouring tests together, so the generic serving test and an app's own serving
    tests mostly run in one process and ask one trained model and one server."""
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        marker = item.get_closest_marker("serves")
        if marker is not None:
            groups.setdefault(str(marker.args[0]), []).append(item)
    if not groups:
        return
    placed: set[str] = set()
    ordered: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("serves")
        if marker is None:
            ordered.append(item)
        elif str(marker.args[0]) not in placed:
            placed.add(str(marker.args[0]))
            ordered += groups[str(marker.args[0])]
    items[:] = ordered


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> dict[str, Path]:
    return write_tiny_corpus(tmp_path)

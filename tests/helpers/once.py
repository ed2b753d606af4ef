"""Work done once per test session, by whichever test process asks first; the others wait for it
and read what it left (pytest-xdist runs a session's tests in several processes)."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def session_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's temporary folder that every test process sees."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """``make(folder)`` run once per session (its JSON result kept beside what it wrote), and the
    folder and result for every process that asks."""
    folder = session_folder(tmp_path_factory) / f"once-{name}"
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        result = folder / "result.json"
        if not result.exists():
            folder.mkdir(exist_ok=True)
            made = make(folder)
            result.write_text(json.dumps(made))
        return folder, json.loads(result.read_text())

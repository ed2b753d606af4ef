"""Generated data sets appear whole or not at all, however many processes generate them at once.

Ranks of one run, nodes sharing a file system, or two runs started together may all find an
embedded corpus missing and generate it. Each builds it in a folder of its own (named with its
pid and a random suffix) and renames that folder to the final name: a rename is atomic, and it
fails when another process got there first, whose identical copy then stays. Readers therefore
never see half a corpus, nor one split of one generation and another split of another.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from lstm_apps.errors import UserError


def private_name(target: Path) -> Path:
    """A sibling of ``target`` that no other process uses: ``.<name>.<pid>-<random>.tmp``."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def publish_directory(target: Path, build: Callable[[Path], object], expected: Iterable[Path]) -> None:
    """Make ``target`` hold what ``build(folder)`` writes into an empty folder, unless every file of
    ``expected`` (paths under ``target``) is there already; safe to run in several processes at once."""
    expected = list(expected)
    if all(path.exists() for path in expected):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = private_name(target)
    folder.mkdir()
    try:
        build(folder)
        try:
            os.rename(folder, target)  # fails if another process published first
        except OSError:
            if not all(path.exists() for path in expected):
                raise UserError(
                    f"{target}: incomplete generated data (left by an interrupted older run?): "
                    "delete the folder and run again"
                ) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)

"""Reading and writing the project's text files: one-line errors naming the setting, atomic writes."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from lstm_apps.errors import UserError

SPLITS = ("train", "val", "test")


def read_text_file(path: str | Path, key: str) -> str:
    """Read a corpus file, turning every way it can be wrong into one line naming it."""
    file = Path(path).expanduser()
    if not file.exists():
        raise UserError(f"{key}: file not found: {file}")
    if file.is_dir():
        raise UserError(f"{key}: expected a text file, got a directory: {file}")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise UserError(f"{key}: {file} is not UTF-8 text (byte {err.start})") from None
    if not text.strip():
        raise UserError(f"{key}: file is empty: {file}")
    return text


def write_text_atomically(path: str | Path, text: str) -> None:
    """Write via a temporary name and rename, so a killed run never leaves half a file behind.

    The temporary name is unique per process (pid and a random part): ranks or nodes writing the
    same file at once each rename a complete file of their own into place.
    """
    write_bytes_atomically(path, text.encode("utf-8"))


def write_bytes_atomically(path: str | Path, data: bytes) -> None:
    """``write_text_atomically`` for bytes (a MIDI file, an image)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)

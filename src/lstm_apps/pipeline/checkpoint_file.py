"""Say in words what a file that is not a usable lstm-apps checkpoint is instead.

``torch.load`` reports such files in its own terms (unpickling opcodes, ``weights_only``
allow-lists, zip central directories). The first bytes and the loaded payload tell the cases a
user can act on apart: a text or other file renamed ``.ckpt``, a truncated copy, a checkpoint of
another program or bare weights, and a checkpoint of another lstm-apps format.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format since PyTorch 1.6
PICKLE_MAGIC = b"\x80"  # the legacy format: a bare pickle (protocol 2+)


def unreadable_reason(file: Path) -> str:
    """Why ``torch.load`` could not read ``file`` (called only after it failed)."""
    with open(file, "rb") as handle:
        head = handle.read(64)
    if not head:
        return "the file is empty"
    if head.startswith(ZIP_MAGIC):
        if not _zip_intact(file):
            return "the file is truncated or damaged (an incomplete copy or download?)"
        return "a PyTorch file holding Python objects besides tensors; lstm-apps did not write it"
    if head.startswith(PICKLE_MAGIC):
        return "a pickled Python file, not a PyTorch checkpoint that lstm-apps wrote (or truncated)"
    return f"not a PyTorch file ({_looks_like(head)})"


def foreign_payload_reason(payload: Any, key: str) -> str:
    """What a loaded payload without our ``key`` section is."""
    if isinstance(payload, Mapping) and "state_dict" in payload and "pytorch-lightning_version" in payload:
        return f"a Lightning checkpoint of another program (it has no '{key}' section)"
    if isinstance(payload, Mapping) and payload and all(torch.is_tensor(v) for v in payload.values()):
        return "bare model weights (a state dict) without the config and vocabulary lstm-apps needs"
    return f"a PyTorch file, but not an lstm-apps checkpoint (it has no '{key}' section)"


def _zip_intact(file: Path) -> bool:
    try:
        with zipfile.ZipFile(file) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def _looks_like(head: bytes) -> str:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"it starts with the bytes {head[:4].hex(' ')}"
    if text.isprintable() or all(c.isprintable() or c.isspace() for c in text):
        return "it is a text file"
    return f"it starts with the bytes {head[:4].hex(' ')}"

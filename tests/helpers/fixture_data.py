"""Fixture files no one app owns: a checkpoint that only names its app. Each app's own tiny data
writers live in its package (``lstm_apps.apps.<app>.tiny``)."""

from __future__ import annotations

from pathlib import Path

import torch


def app_checkpoint(folder: Path, app: str, handoff_key: str = "handoff") -> Path:
    """A checkpoint that only names its app: enough for ``predict`` to choose the app's options."""
    path = folder / f"{app}.ckpt"
    meta = {"format": 1, "app": app, "config": {}, handoff_key: {"vocab_size": 7}, "vocab": {}}
    torch.save({"state_dict": {}, "lstm_apps": meta}, path)
    return path

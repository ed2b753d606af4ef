"""Output folders that cannot be made are one line naming the setting and the folder."""

from __future__ import annotations

import os
from pathlib import Path

from lstm_apps.errors import UserError


def output_folder(path: str | Path, key: str) -> Path:
    """Create ``path`` (with its parents) and check it is writable, or raise ``UserError`` naming
    ``key`` (the setting or flag that chose it) and the folder, before any work writes there."""
    folder = Path(path).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{key}: cannot create the folder {folder}: {err.strerror or err}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{key}: the folder {folder} is not writable")
    return folder

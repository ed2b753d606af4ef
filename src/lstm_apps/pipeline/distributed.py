"""Small helpers for gathering Python objects (decoded strings) from every process."""

from __future__ import annotations

from typing import Any

import torch.distributed as dist


def gather_lists(items: list[Any]) -> list[Any]:
    """Concatenate ``items`` from all processes (identity outside distributed runs)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(items)
    gathered: list[list[Any] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, list(items))
    return [item for part in gathered for item in (part or [])]

"""Run directory names. A normal run is named by its start time; a ``resume=auto`` run by a hash
of its command-line overrides, so the very same command — a requeued cluster job, a restart after
a crash — lands in the same directory and continues from its checkpoints."""

from __future__ import annotations

import datetime as dt
import hashlib

from omegaconf import OmegaConf

RESOLVER = "lstm_apps.run_name"


def run_name(resume: object, overrides: str) -> str:
    if resume == "auto":
        return "auto-" + hashlib.sha1(overrides.encode("utf-8")).hexdigest()[:12]
    return dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def register() -> None:
    if not OmegaConf.has_resolver(RESOLVER):
        # Cached: the directory is read more than once (e.g. by DDP launchers re-running the
        # command) and must not move to a later timestamp.
        OmegaConf.register_new_resolver(RESOLVER, run_name, use_cache=True)

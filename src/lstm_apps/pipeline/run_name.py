"""Run directory names. A ``resume=auto`` run is named by a hash of its command-line overrides, so
the very same command — a requeued cluster job, a restart after a crash — lands in the same
directory and continues from its checkpoints. Other runs are named by their start time, except
when every process of a job names the directory on its own (``torchrun``): then by the launcher's
run id, which all of them share, so they still write into one directory."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

from omegaconf import OmegaConf

RESOLVER = "lstm_apps.run_name"
CWD_RESOLVER = "lstm_apps.cwd"


def run_name(resume: object, overrides: str) -> str:
    if resume == "auto":
        return "auto-" + hashlib.sha1(overrides.encode("utf-8")).hexdigest()[:12]
    elastic_run = os.environ.get("TORCHELASTIC_RUN_ID", "none")
    if elastic_run != "none":
        return f"torchrun-{elastic_run}"
    return dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def register() -> None:
    """Register the resolvers the configs use. ``lstm_apps.cwd`` is the launch directory, known
    before Hydra's own ``${hydra:runtime.cwd}`` is (launchers resolve the sweep directory first)."""
    if not OmegaConf.has_resolver(CWD_RESOLVER):
        OmegaConf.register_new_resolver(CWD_RESOLVER, os.getcwd, use_cache=True)
    if not OmegaConf.has_resolver(RESOLVER):
        # Cached: the directory is read more than once (e.g. by DDP launchers re-running the
        # command) and must not move to a later timestamp.
        OmegaConf.register_new_resolver(RESOLVER, run_name, use_cache=True)

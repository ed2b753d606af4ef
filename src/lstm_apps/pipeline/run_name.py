"""Run directory names, and which process of a job writes where in it.

A ``resume=auto`` run is named by a hash of its command-line overrides, so the very same command
— a requeued cluster job, a restart after a crash — lands in the same directory and continues from
its checkpoints. Other runs are named by their start time, except when every process of a job
composes the config on its own (``torchrun``, ``srun`` tasks): their clocks differ, so they are
named by what the launcher gives all of them — torchrun's run id, SLURM's job (array task) and
step id — and still write into one directory. Only global rank 0 writes Hydra's files there;
the other ranks log to ``<task>.rank<N>.log`` beside its log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os

from omegaconf import OmegaConf

RESOLVER = "lstm_apps.run_name"
CWD_RESOLVER = "lstm_apps.cwd"
HYDRA_SUBDIR_RESOLVER = "lstm_apps.hydra_subdir"
LOG_SUFFIX_RESOLVER = "lstm_apps.log_suffix"


def slurm_tasks() -> int:
    """How many tasks ``srun`` started for this job step (0 outside SLURM or in an interactive
    shell, which Lightning does not treat as a SLURM-managed job either)."""
    if os.environ.get("SLURM_JOB_NAME") in ("bash", "interactive"):
        return 0
    try:
        return int(os.environ.get("SLURM_NTASKS", "0"))
    except ValueError:
        return 0


def job_name() -> str | None:
    """The name all processes of one multi-process job agree on, or None for a single process."""
    elastic_run = os.environ.get("TORCHELASTIC_RUN_ID", "none")
    if elastic_run != "none":
        return f"torchrun-{elastic_run}"
    if slurm_tasks() > 1 and "SLURM_JOB_ID" in os.environ:
        array_job, array_task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
        job = f"{array_job}_{array_task}" if array_job and array_task else os.environ["SLURM_JOB_ID"]
        step = os.environ.get("SLURM_STEP_ID")
        return f"slurm-{job}" + (f"-{step}" if step else "")
    return None


def global_rank() -> int:
    """This process's rank in its job, from what the launcher set: torchrun's ``RANK``, SLURM's
    ``SLURM_PROCID`` for a multi-task step, Lightning's ``LOCAL_RANK`` for the processes it
    starts itself; 0 for a single process."""
    for variable in ("RANK", "SLURM_PROCID" if slurm_tasks() > 1 else "", "LOCAL_RANK"):
        value = os.environ.get(variable) if variable else None
        if value is not None and value.isdigit():
            return int(value)
    return 0


def run_name(resume: object, overrides: str) -> str:
    if resume == "auto":
        return "auto-" + hashlib.sha1(overrides.encode("utf-8")).hexdigest()[:12]
    return job_name() or dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def hydra_subdir() -> str | None:
    """Hydra's config copies (``.hydra/``): written by rank 0 only."""
    return ".hydra" if global_rank() == 0 else None


def log_suffix() -> str:
    """``train.log`` for rank 0, ``train.rank<N>.log`` for the others: one file per process."""
    rank = global_rank()
    return "" if rank == 0 else f".rank{rank}"


def register() -> None:
    """Register the resolvers the configs use. ``lstm_apps.cwd`` is the launch directory, known
    before Hydra's own ``${hydra:runtime.cwd}`` is (launchers resolve the sweep directory first)."""
    if not OmegaConf.has_resolver(CWD_RESOLVER):
        OmegaConf.register_new_resolver(CWD_RESOLVER, os.getcwd, use_cache=True)
    if not OmegaConf.has_resolver(RESOLVER):
        # Cached: the directory is read more than once (e.g. by DDP launchers re-running the
        # command) and must not move to a later timestamp.
        OmegaConf.register_new_resolver(RESOLVER, run_name, use_cache=True)
    if not OmegaConf.has_resolver(HYDRA_SUBDIR_RESOLVER):
        OmegaConf.register_new_resolver(HYDRA_SUBDIR_RESOLVER, hydra_subdir)
    if not OmegaConf.has_resolver(LOG_SUFFIX_RESOLVER):
        OmegaConf.register_new_resolver(LOG_SUFFIX_RESOLVER, log_suffix)

"""``train(cfg)``: datamodule -> hand-off -> model -> trainer -> fit -> test, in one run directory."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from lstm_apps.core.recurrent import RecurrentBlock
from lstm_apps.data.prepared.lock import prepare_once
from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import AppDataModule
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.build import (
    check_config_types,
    instantiate_collection,
    instantiate_model,
    instantiate_node,
    plain_dict,
)
from lstm_apps.pipeline.checkpoint import newest_checkpoint, read_checkpoint
from lstm_apps.pipeline.checkpoint_io import AtomicCheckpointIO
from lstm_apps.pipeline.finetuning import FineTuning
from lstm_apps.pipeline.hparams import log_final_hparams
from lstm_apps.pipeline.init_from import InitialWeights
from lstm_apps.pipeline.init_from import report as show_plan
from lstm_apps.pipeline.numerics import apply_matmul_precision
from lstm_apps.pipeline.preemption import requeue_after_stop, restore_after_fit

log = logging.getLogger("lstm_apps")


def build_datamodule(cfg: DictConfig, fitted_state: dict[str, str] | None = None) -> AppDataModule:
    """Instantiate ``cfg.data``; reuse ``fitted_state`` (from a checkpoint) instead of fitting anew."""
    datamodule = instantiate_node(cfg.data, "data")
    if not isinstance(datamodule, AppDataModule):
        raise UserError(f"data._target_: {type(datamodule).__name__} is not an AppDataModule")
    if fitted_state:
        datamodule.load_fitted_state(fitted_state)
    return datamodule


def build_model(cfg: DictConfig, datamodule: AppDataModule) -> AppModule:
    """The one hand-off: sizes and vocabularies flow from the set-up datamodule into the model."""
    handoff = datamodule.handoff()
    model = instantiate_model(cfg.model, handoff)
    if not isinstance(model, AppModule):
        raise UserError(f"model._target_: {type(model).__name__} is not an AppModule")
    model.handoff = handoff
    model.run_config = plain_dict(cfg)
    model.bind_fitted_state(datamodule.fitted_state())
    if cfg.model.get("compile"):
        # nn.Module.compile compiles this module's forward in place: training_step, validation
        # and decoding keep calling self(...), checkpoints keep their plain parameter names.
        model.compile()
    return model


def build_trainer(cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None) -> L.Trainer:
    callbacks = instantiate_collection(cfg.get("callbacks"), "callbacks") + list(extra_callbacks or [])
    loggers = instantiate_collection(cfg.get("logger"), "logger")
    plugins: list[Any] = [AtomicCheckpointIO()]
    # NCCL: a collective that fails or times out (trainer.strategy.timeout) aborts the process
    # instead of leaving it waiting for a rank that died.
    os.environ.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")
    if SLURMEnvironment.detect():
        # Requeueing is the preemption callback's (after a checkpoint, then exit), not Lightning's.
        plugins.append(SLURMEnvironment(auto_requeue=False))
    return instantiate_node(
        cfg.trainer, "trainer", callbacks=callbacks, logger=loggers or False, plugins=plugins
    )


def finetuning_callbacks(cfg: DictConfig) -> list[L.Callback]:
    """The ``finetune`` section's callback, where it asks for anything."""
    node = cfg.get("finetune")
    if node is None:
        return []
    callback = instantiate_node(node, "finetune")
    if not isinstance(callback, FineTuning):
        raise UserError(f"finetune._target_: {type(callback).__name__} is not a FineTuning callback")
    return [callback] if callback.active else []


def _scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, torch.Tensor | float | int)}


def train(cfg: DictConfig, extra_callbacks: list[L.Callback] | None = None) -> dict[str, float]:
    """Train (or resume) the configured app, then test the best checkpoint; return all metrics.

    With a ``search`` section (``hparams_search=…``) run that search instead, each trial a train run.
    """
    if cfg.get("search"):
        from lstm_apps.pipeline.optuna_search import run_search

        return run_search(cfg, train)
    check_config_types(cfg, ("data", "model", "trainer", "callbacks", "logger", "finetune"))
    apply_matmul_precision(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    resume_from = cfg.get("ckpt_path") or _auto_resume_checkpoint(cfg)
    fitted_state = None
    initial = None
    adopted: dict[str, str] = {}
    if resume_from:
        info = read_checkpoint(resume_from, key="ckpt_path", expected_app=cfg.app_name)
        fitted_state = info.fitted_state  # the resumed model's embedding rows must mean the same tokens
        resume_from = str(info.path)
        if cfg.get("init_from"):
            print(
                "[lstm-apps] resuming: the weights come from the resumed checkpoint, not init_from",
                flush=True,
            )
    else:
        initial = InitialWeights.from_config(cfg)
        if initial is not None:
            fitted_state, adopted = initial.fitted_state()

    datamodule = build_datamodule(cfg, fitted_state)
    if adopted:
        datamodule.adopt_fitted_state(adopted)
    prepare_once(cfg.paths.data_dir, datamodule.prepare_data)
    datamodule.setup("fit")
    model = build_model(cfg, datamodule)
    plan = None
    if not resume_from:
        model.load_pretrained()
        if initial is not None:
            plan = initial.apply(model)
    trainer = build_trainer(cfg, [*finetuning_callbacks(cfg), *(extra_callbacks or [])])

    output_dir = Path(cfg.paths.output_dir)
    if trainer.is_global_zero:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
        if plan is not None:
            show_plan(plan, output_dir)
        _announce(trainer, output_dir, recurrence=recurrent_parameters(model))

    fit_started = time.monotonic()
    first_step = trainer.global_step
    _fit(trainer, model, datamodule, resume_from)
    fitted = {
        "optimizer_steps": trainer.global_step - first_step,
        "epochs": trainer.current_epoch,
        "seconds": round(time.monotonic() - fit_started, 3),
    }
    metrics = _scalar_metrics(trainer.callback_metrics)
    best_score = getattr(trainer.checkpoint_callback, "best_model_score", None)
    if best_score is not None:
        metrics[f"best/{cfg.monitor}"] = float(best_score)

    if cfg.get("test_after_fit", True):
        best = _best_checkpoint(trainer)
        test_results = trainer.test(
            model, datamodule=datamodule, ckpt_path=best, verbose=trainer.is_global_zero
        )
        metrics.update(_scalar_metrics(test_results[0] if test_results else {}))

    log_final_hparams(trainer, plain_dict(cfg), _final_metric_columns(metrics))
    if trainer.is_global_zero:
        # the run's final numbers for scripts (sweeps, benchmarks), laid out as eval's
        summary = {
            "app": cfg.app_name,
            "best_checkpoint": _best_checkpoint(trainer),
            "metrics": metrics,
            "fit": fitted,  # this run's optimizer steps and seconds in fit (validation included)
        }
        (output_dir / "metrics.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        _announce(trainer, output_dir, done=True)
    return metrics


def _fit(trainer: L.Trainer, model: AppModule, datamodule: AppDataModule, ckpt_path: str | None) -> None:
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    except SystemExit:  # stopped by a signal, the stop's checkpoint written: requeue if asked
        requeue_after_stop(trainer)
        raise
    except ValueError as err:
        # Lightning checks an integer interval against the epoch's batches only once it knows them.
        if "val_check_interval" in str(err):
            raise UserError(f"trainer.val_check_interval: {err}") from None
        raise
    finally:
        restore_after_fit(trainer)


def _auto_resume_checkpoint(cfg: DictConfig) -> str | None:
    """``resume=auto``: the newest complete checkpoint of this run directory, if any."""
    mode = cfg.get("resume")
    if mode is None:
        return None
    if mode != "auto":
        raise UserError(f"resume: must be auto or null, got {mode!r}")
    found = newest_checkpoint(Path(cfg.paths.output_dir) / "checkpoints", cfg.app_name)
    if found is not None:
        log.info("resume=auto: continuing from %s", found)
        print(f"[lstm-apps] resuming from {found}", flush=True)
    return str(found) if found else None


def _best_checkpoint(trainer: L.Trainer) -> str | None:
    """The monitored callback's best checkpoint; without one (no validation ran, e.g. ``max_steps``
    before the first), the newest checkpoint any callback wrote in this run, e.g. ``last.ckpt``."""
    callback = trainer.checkpoint_callback
    if isinstance(callback, ModelCheckpoint) and callback.best_model_path:
        return callback.best_model_path
    written = [
        Path(path)
        for cb in trainer.checkpoint_callbacks
        if isinstance(cb, ModelCheckpoint)
        for path in (cb.last_model_path, cb.best_model_path)
        if path and Path(path).is_file()
    ]
    return str(max(written, key=lambda p: p.stat().st_mtime_ns)) if written else None


def _final_metric_columns(metrics: dict[str, float]) -> dict[str, float]:
    """The hparams tab's columns: validation and test metrics (per-step training noise left out)."""
    return {k: v for k, v in metrics.items() if k.startswith(("val/", "test/"))}


def recurrent_parameters(model: torch.nn.Module) -> str:
    """``lstm: 1,182,720 of 1,530,114 parameters`` — the recurrent layers' share of the model, per
    cell, so that runs of different cells compare at equal parameters (docs/cells.md)."""
    per_cell: dict[str, int] = {}
    for block in model.modules():
        if isinstance(block, RecurrentBlock):
            per_cell[block.cell] = per_cell.get(block.cell, 0) + block.num_parameters()
    total = sum(p.numel() for p in model.parameters() if p.requires_grad)
    cells = ", ".join(f"{cell} {count:,}" for cell, count in per_cell.items())
    return f"{cells} of {total:,} parameters" if cells else f"{total:,} parameters"


def _announce(trainer: L.Trainer, output_dir: Path, done: bool = False, recurrence: str = "") -> None:
    checkpoint_dir = getattr(trainer.checkpoint_callback, "dirpath", None)
    tensorboard = [lg.log_dir for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
    lines = [f"run directory: {output_dir}"]
    if recurrence:
        lines.append(f"recurrent:     {recurrence}")
    if checkpoint_dir:
        lines.append(f"checkpoints:   {checkpoint_dir}")
    for folder in tensorboard:
        lines.append(f"tensorboard:   {folder}   (tensorboard --logdir {folder})")
    if done and trainer.checkpoint_callback is not None:
        best = _best_checkpoint(trainer)
        if best:
            lines.append(f"best checkpoint: {best}")
    header = "finished" if done else "starting"
    print(f"[lstm-apps] {header}\n  " + "\n  ".join(lines), flush=True)

"""The valid values of the config keys that no constructor of ours owns, declared once.

The keys of models, datamodules, data sources and predictor options are declared on their
parameters (``lstm_apps.bounds``, read by ``schema.py``). What is left is listed here: ``RUN``,
what every app shares in ``lstm-apps train`` (optimiser, scheduler, Lightning's trainer and
callbacks, the pipeline's own ``model.compile``, search, launcher resources); ``EVAL``, ``EXPORT``,
``SERVE`` and ``PREDICT_COMMON``, the keys of those commands. Keys are dotted paths in the composed config; a
key absent from a config (a callback switched off) is not checked. ``tests/test_config_ranges.py``
fails for a numeric key that neither a signature nor this file declares.
"""

from __future__ import annotations

from typing import get_args

from lstm_apps.bounds import Quantization
from lstm_apps.config_ranges.kinds import AnyOf, Choice, Flag, Key, Kind, ListOf, Null, Range, Text

Table = dict[str, Key]


def key(*kinds: Kind, doc: str) -> Key:
    """One declaration; several kinds mean any of them is allowed."""
    return Key(kinds[0] if len(kinds) == 1 else AnyOf(kinds), doc)


def ints(low: float | None = None, high: float | None = None) -> Range:
    return Range(True, low, high)


def reals(
    low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False
) -> Range:
    return Range(False, low, high, low_open, high_open)


def one_of(*options: str) -> Choice:
    return Choice(tuple(options))


FLAG = Flag()
NULL = Null()
POSITIVE = ints(1)
COUNT = ints(0)
FRACTION = reals(0, 1, low_open=True, high_open=True)  # strictly between 0 and 1
SEED = ints(0, 2**32 - 1)  # what seed_everything and numpy accept
BATCH_LIMIT = (NULL, ints(0), reals(0, 1))  # Lightning: a number of batches, or a fraction of them


# ---------------------------------------------------------------- shared by every app (train)
RUN: Table = {
    "seed": key(SEED, NULL, doc="seeds weights, data order and sampling; null: not seeded"),
    "monitor_mode": key(one_of("min", "max"), doc="whether a smaller or larger monitor is better"),
    "test_after_fit": key(FLAG, doc="test the best checkpoint when training ends"),
    "model.compile": key(FLAG, doc="torch.compile the forward pass (the pipeline's, not the model's)"),
    "resume": key(NULL, one_of("auto"), doc="auto: continue the run with the same overrides"),
    "init_from": key(
        NULL, Text(r"(?s).+", "a checkpoint path"), doc="start the weights from this checkpoint"
    ),
    "init_from_backward": key(
        NULL, Text(r"(?s).+", "a checkpoint path"), doc="a reversed-text LM for the backward direction"
    ),
    "init_from_fitted": key(
        one_of("all", "none"), ListOf(Text(r"[A-Za-z0-9_]+", "a fitted-state name")), doc="fitted state kept"
    ),
    "init_from_strict": key(FLAG, doc="a weight that does not load whole is an error"),
    "float32_matmul_precision": key(one_of("highest", "high", "medium"), doc="CUDA float32 matmul mode"),
    # optimizer=adam|adamw|sgd (a Hydra group: Hydra checks the name)
    "optimizer.lr": key(reals(0, low_open=True), doc="learning rate"),
    "optimizer.weight_decay": key(reals(0), doc="L2 penalty (decoupled for AdamW)"),
    "optimizer.momentum": key(reals(0, 1, high_open=True), doc="SGD momentum"),
    # scheduler=plateau|cosine|onecycle|none
    "scheduler.interval": key(
        one_of("step", "epoch", "validation"), doc="when the scheduler steps; validation: after each one"
    ),
    "scheduler.factory.mode": key(one_of("min", "max"), doc="plateau: direction of the monitor"),
    "scheduler.factory.factor": key(FRACTION, doc="plateau: lr multiplier on a plateau"),
    "scheduler.factory.patience": key(COUNT, doc="plateau: validations without improvement first"),
    "scheduler.factory.eta_min": key(reals(0), doc="cosine: the final learning rate"),
    "scheduler.factory.max_lr": key(reals(0, low_open=True), doc="onecycle: the peak learning rate"),
    "scheduler.factory.pct_start": key(FRACTION, doc="onecycle: share of steps spent warming up"),
    # trainer (Lightning Trainer arguments the project sets)
    "trainer.accelerator": key(one_of("auto", "cpu", "gpu", "cuda", "mps"), doc="the device type"),
    "trainer.devices": key(POSITIVE, one_of("auto", "-1"), ListOf(COUNT), doc="devices per node"),
    "trainer.num_nodes": key(POSITIVE, doc="machines"),
    "trainer.strategy.timeout.seconds": key(
        reals(0, low_open=True), doc="how long a collective waits for a dead or stuck rank"
    ),
    "trainer.precision": key(
        one_of("32-true", "32", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true", "64"),
        doc="numeric precision of training",
    ),
    "trainer.max_epochs": key(POSITIVE, one_of("-1"), NULL, doc="-1: no limit"),
    "trainer.min_epochs": key(COUNT, NULL, doc="train at least this many epochs"),
    "trainer.max_steps": key(POSITIVE, one_of("-1"), doc="-1: no limit"),
    "trainer.gradient_clip_val": key(reals(0), NULL, doc="clip gradients to this norm/value"),
    "trainer.gradient_clip_algorithm": key(one_of("norm", "value"), doc="how gradients are clipped"),
    "trainer.accumulate_grad_batches": key(POSITIVE, doc="batches per optimiser step"),
    "trainer.check_val_every_n_epoch": key(POSITIVE, NULL, doc="validate every n epochs"),
    "trainer.val_check_interval": key(
        NULL, POSITIVE, reals(0, 1, low_open=True), doc="validate every n batches, or this share of an epoch"
    ),
    "trainer.limit_train_batches": key(*BATCH_LIMIT, doc="batches (or share) per training epoch"),
    "trainer.limit_val_batches": key(*BATCH_LIMIT, doc="batches (or share) per validation"),
    "trainer.limit_test_batches": key(*BATCH_LIMIT, doc="batches (or share) per test"),
    "trainer.overfit_batches": key(ints(0), reals(0, 1), doc="train and validate on these batches only"),
    "trainer.log_every_n_steps": key(POSITIVE, doc="logging interval in optimiser steps"),
    "trainer.deterministic": key(FLAG, one_of("warn"), doc="reproducible kernels"),
    "trainer.benchmark": key(FLAG, NULL, doc="cudnn.benchmark"),
    "trainer.enable_progress_bar": key(FLAG, doc="show a progress bar"),
    "trainer.num_sanity_val_steps": key(ints(-1), doc="validation batches before training; -1: all"),
    "trainer.sync_batchnorm": key(FLAG, doc="DDP: synchronise batch norm statistics"),
    # callbacks
    "callbacks.model_checkpoint.save_top_k": key(ints(-1), doc="best checkpoints kept; -1: all"),
    "callbacks.model_checkpoint.every_n_epochs": key(COUNT, NULL, doc="checkpoint interval in epochs"),
    "callbacks.model_checkpoint.mode": key(one_of("min", "max"), doc="whether smaller is better"),
    "callbacks.model_checkpoint.save_last": key(FLAG, NULL, one_of("link"), doc="also write last.ckpt"),
    "callbacks.model_checkpoint.auto_insert_metric_name": key(FLAG, doc="metric names in file names"),
    "callbacks.last_checkpoint.save_top_k": key(ints(-1), doc="last checkpoints kept"),
    "callbacks.last_checkpoint.every_n_epochs": key(COUNT, NULL, doc="last.ckpt interval in epochs"),
    "callbacks.last_checkpoint.enable_version_counter": key(
        FLAG, doc="last-v1.ckpt … instead of overwriting"
    ),
    "callbacks.last_checkpoint.save_on_exception": key(FLAG, doc="write last.ckpt on a crash or SIGTERM"),
    "callbacks.early_stopping.patience": key(COUNT, doc="validations without improvement before stopping"),
    "callbacks.early_stopping.min_delta": key(reals(0), doc="smallest change that counts as improvement"),
    "callbacks.early_stopping.mode": key(one_of("min", "max"), doc="whether smaller is better"),
    "callbacks.early_stopping.check_on_train_epoch_end": key(
        FLAG, NULL, doc="also decide at epoch ends without a validation"
    ),
    "callbacks.lr_monitor.logging_interval": key(one_of("step", "epoch"), NULL, doc="when the lr is logged"),
    "callbacks.progress_bar.refresh_rate": key(COUNT, doc="bar refresh in steps; 0: off"),
    "callbacks.model_summary.max_depth": key(ints(-1), doc="module depth of the summary; -1: all"),
    "callbacks.preemption.requeue_signal": key(
        one_of("USR1", "USR2", "TERM", "SIGUSR1", "SIGUSR2", "SIGTERM", "none"),
        NULL,
        doc="in a SLURM job: checkpoint, scontrol requeue, exit on this signal",
    ),
    "callbacks.samples.every_n_epochs": key(POSITIVE, doc="text samples every n epochs"),
    "callbacks.samples.images_every_n_epochs": key(
        POSITIVE, NULL, doc="images every n epochs; null: with texts"
    ),
    "callbacks.inspect.every_n_steps": key(POSITIVE, doc="optimizer steps between inspections"),
    "callbacks.inspect.histograms": key(FLAG, doc="gate histograms in TensorBoard"),
    "callbacks.inspect.vanish_below": key(FRACTION, doc="signal share below which it counts as vanished"),
    "callbacks.inspect.vanish_within": key(POSITIVE, doc="steps back within which vanishing is reported"),
    "callbacks.inspect.explode_share": key(FRACTION, doc="clipped-step share reported as exploding"),
    "callbacks.inspect.explode_factor": key(reals(1), doc="mean norm / clip threshold reported as exploding"),
    # logger
    "logger.tensorboard.default_hp_metric": key(FLAG, doc="log a placeholder hp_metric"),
    # hparams_search=<app>_optuna
    "search.n_trials": key(POSITIVE, doc="trials in the study (finished ones count)"),
    "search.test_trials": key(FLAG, doc="test each trial's best checkpoint too"),
    "search.pruner.startup_trials": key(COUNT, doc="no pruning before this many trials finished"),
    "search.pruner.warmup_epochs": key(COUNT, doc="nor before this epoch of a trial"),
    # launcher=slurm|slurm_local (resources/)
    "resources.nodes": key(POSITIVE, doc="SLURM nodes"),
    "resources.gpus_per_node": key(COUNT, doc="GPUs (and tasks) per node"),
    "resources.cpus_per_task": key(POSITIVE, doc="CPU cores per task"),
    "resources.mem_gb": key(reals(0, low_open=True), doc="memory per node in GB"),
    "resources.timeout_min": key(POSITIVE, doc="job time limit in minutes"),
}

# ---------------------------------------------------------------- lstm-apps eval / export
_DEVICE_SIDE = {
    "float32_matmul_precision": RUN["float32_matmul_precision"],
    "expected_app": key(NULL, Text(r"[A-Za-z0-9_]+", "an app name"), doc="the checkpoint must be this app's"),
}
QUANTIZE = key(one_of(*get_args(Quantization)), doc="int8: int8 recurrent layers, on the CPU")
EVAL: Table = {
    **_DEVICE_SIDE,
    "quantize": QUANTIZE,
    "split": key(one_of("test", "val"), doc="the split scored"),
    **{name: spec for name, spec in RUN.items() if name.startswith("trainer.")},
}
EXPORT: Table = {
    "expected_app": _DEVICE_SIDE["expected_app"],
    "format": key(one_of("onnx", "torchscript"), doc="the exported graph"),
    "tolerance": key(reals(0, low_open=True), doc="largest |exported - PyTorch| allowed"),
}

# ---------------------------------------------------------------- lstm-apps serve (serve.* is ServeSettings')
SERVE: Table = dict(_DEVICE_SIDE)

# ---------------------------------------------------------------- lstm-apps predict: what every app shares
PREDICT_COMMON: Table = {
    **_DEVICE_SIDE,
    "device": key(NULL, Text(r"cpu|cuda(:\d+)?|mps", "cpu, cuda, cuda:N or mps"), doc="where to run"),
    "quantize": QUANTIZE,
}

# ---------------------------------------------------------------- lstm-apps inspect
INSPECT: Table = {
    **PREDICT_COMMON,
    "block": key(NULL, Text(r"[\w.]+", "a module name such as net.rnn"), doc="the recurrent block"),
    "layer": key(NULL, ints(0), doc="the layer drawn and ranked; null: the last"),
    "direction": key(one_of("forward", "backward"), doc="the direction of a bidirectional block"),
    "state": key(one_of("auto", "h", "c"), doc="the state drawn: hidden h or memory c"),
    "cells": key(NULL, ListOf(ints(0)), doc="cell indices to draw"),
    "find": key(FLAG, doc="rank cells by correlation with features of the input"),
    "top": key(POSITIVE, doc="cells drawn and printed per feature"),
    "output_dir": key(Text(r".+", "a folder"), doc="where the page and PNGs go"),
}

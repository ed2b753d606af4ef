"""What every app's LightningModule shares: optimisers from config and self-contained checkpoints."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_datamodule import AppDataModule
from lstm_apps.pipeline.build import plain_dict
from lstm_apps.pipeline.finetuning import find_finetuning
from lstm_apps.pipeline.weight_transfer import TransferParts

CHECKPOINT_KEY = "lstm_apps"
CHECKPOINT_FORMAT = 1


def is_logging_step(trainer: L.Trainer, step: int) -> bool:
    """Whether Lightning writes step metrics to the loggers after optimizer step ``step``
    (0-based): every ``log_every_n_steps``-th step, the last one, and every step of a fast dev run."""
    # Both attributes are set on the Trainer by Lightning's connectors, not declared on its class.
    every: int = trainer.log_every_n_steps  # type: ignore[attr-defined]
    fast_dev_run: int | bool = trainer.fast_dev_run  # type: ignore[attr-defined]
    return bool(every) and ((step + 1) % every == 0 or trainer.should_stop or bool(fast_dev_run))


def _plain(node: Mapping[str, Any] | DictConfig | None) -> dict[str, Any] | None:
    if node is None:
        return None
    if isinstance(node, DictConfig):
        return plain_dict(node)
    return dict(node)


def _weights_under_net(
    module: nn.Module, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
) -> None:
    """Checkpoints written before the networks were plain modules held as ``self.net`` name the
    network's weights without the ``net.`` prefix: rename those, so old checkpoints load and
    resume."""
    net = getattr(module, "net", None)
    if not isinstance(net, nn.Module):
        return
    own = {f"{prefix}{name}" for name in module.state_dict()}
    for key in [k for k in state_dict if k.startswith(prefix) and k not in own]:
        moved = f"{prefix}net.{key[len(prefix) :]}"
        if moved in own and moved not in state_dict:
            state_dict[moved] = state_dict.pop(key)


class AppModule(L.LightningModule):
    """Base class of the app models.

    ``optimizer`` is a ``_partial_`` Hydra config (``torch.optim.AdamW`` …) called with the
    parameters. ``scheduler`` holds ``factory`` (a ``_partial_`` scheduler config), ``interval``
    (``step``, ``epoch``, or ``validation``: after each validation, for plateau schedulers),
    optionally ``monitor`` and ``steps_arg``: the name of the scheduler argument that must receive
    the run's total number of scheduler steps (``T_max`` of cosine, ``total_steps`` of one-cycle),
    which only the trainer knows (``max_steps`` when that ends the run first).

    Checkpoints carry, under ``lstm_apps``: the app name, the resolved run config, the sizes the
    datamodule handed over and its fitted state (tokenizers, vocabularies, scaler) as JSON; see ``pipeline/checkpoint.py``.
    """

    app_name: str = "app"
    # The app's plain network (an ``nn.Module`` without Lightning), built as ``self.net`` from the
    # model's ``**settings``: its parameters are ``model.*`` settings as the model's own are.
    network: ClassVar[type[nn.Module] | None] = None
    # Parameters whose rows stand for entries of a fitted part (fitted-state name -> name
    # prefixes): when ``init_from`` fits that part anew they start fresh even where shapes agree.
    fitted_weights: ClassVar[dict[str, tuple[str, ...]]] = {}
    # The embedding and encoder this app shares with others (``init_from`` across apps).
    transfer_parts: ClassVar[TransferParts | None] = None

    def __init__(
        self, optimizer: Mapping[str, Any] | None = None, scheduler: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.optimizer_config = _plain(optimizer)
        self.scheduler_config = _plain(scheduler)
        self.run_config: dict[str, Any] | None = None
        # What the datamodule handed over (``AppDataModule.handoff()``), stored in checkpoints.
        self.handoff: dict[str, Any] = {}
        # What the datamodule fitted on the training data (tokenizers, vocabularies, the
        # forecaster's scaler) as JSON strings, stored in checkpoints.
        self.fitted_state: dict[str, str] = {}
        self._training_sums: dict[str, torch.Tensor] = {}
        self._training_steps = 0
        self._logging_muted = False
        self._validated_since_scheduler_step = False
        self.register_load_state_dict_pre_hook(_weights_under_net)

    # -- the hand-off -------------------------------------------------------------------------
    def bind_fitted_state(self, state: dict[str, str]) -> None:
        """Receive what the datamodule fitted (JSON strings); apps decode it in ``on_fitted_state``."""
        self.fitted_state = dict(state)
        self.on_fitted_state(self.fitted_state)

    def on_fitted_state(self, state: dict[str, str]) -> None:
        """Hook for apps that need their tokenizer or scaler (generation, decoding, prediction)."""

    def load_pretrained(self) -> None:
        """One-time initialisation of a new model from files outside the checkpoint (pretrained
        word vectors). Not called when a run resumes or a checkpoint is loaded: the trained
        weights are in the checkpoint, and the files need not exist any more."""

    @contextmanager
    def evaluating(self) -> Iterator[None]:
        """Eval mode (no dropout) for inference called from anywhere, e.g. in the middle of a
        validation epoch or from the CLI; the previous mode comes back afterwards."""
        was_training = self.training
        self.eval()
        try:
            yield
        finally:
            self.train(was_training)

    def log_training(self, batch_size: int, **values: torch.Tensor) -> None:
        """``train/<name>`` for the loggers: the mean over the steps since the last logging step
        (``trainer.log_every_n_steps``), summed on the device and handed to ``self.log`` at logging
        steps only.

        Why not ``self.log`` every step: Lightning's ``log`` costs about a millisecond of Python
        per call, which on a GPU, where a small model's step takes a few milliseconds, is the
        difference between the trainer and a hand-written loop; and ``prog_bar=True`` would turn
        the value into a Python number after every batch, a wait for the device. The project's
        progress bars (``callbacks/progress.py``) show ``train/loss`` at logging steps.
        """
        trainer = self._trainer
        if trainer is None or self._logging_muted:
            return
        for name, value in values.items():
            value = value.detach()
            total = self._training_sums.get(name)
            self._training_sums[name] = value if total is None else total + value
        self._training_steps += 1
        if is_logging_step(trainer, trainer.global_step):  # the step about to run
            for name, total in self._training_sums.items():
                self.log(f"train/{name}", total / self._training_steps, batch_size=batch_size)
            self._training_sums.clear()
            self._training_steps = 0

    def inspection_loss(self, batch: Any) -> torch.Tensor:
        """The training loss of ``batch`` with nothing else of a training step: no logged means, no
        carried state (``callbacks=inspect`` replays the recurrence on it). This default runs
        ``training_step`` with ``log_training`` muted; an app whose step keeps more (running means,
        a carried state) computes its loss here itself."""
        self._logging_muted = True
        try:
            loss = self.training_step(batch, 0)
        finally:
            self._logging_muted = False
        assert isinstance(loss, torch.Tensor), "training_step must return the loss tensor"
        return loss

    def on_train_epoch_start(self) -> None:
        self._training_sums.clear()
        self._training_steps = 0

    def app_data(self) -> AppDataModule:
        """The trainer's datamodule. What a model may ask of it is what ``AppDataModule`` declares
        (``references``, ``example_input``), so that every app's data offers the same API. A method,
        not a property: export tracers read every property of the module they trace."""
        datamodule = getattr(self._trainer, "datamodule", None)
        if not isinstance(datamodule, AppDataModule):
            raise RuntimeError("no AppDataModule attached: this runs inside trainer.fit/validate/test")
        return datamodule

    # -- optimisation -------------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        if self.optimizer_config is None:
            raise ValueError("model.optimizer is not configured")
        finetuning = find_finetuning(self._trainer)
        params: Any = self.parameters()
        scales: list[float] = []
        if finetuning is not None and finetuning.lr_decay != 1.0:
            lr = self.optimizer_config.get("lr")
            if not isinstance(lr, int | float):
                raise UserError("finetune.lr_decay: the optimizer needs an lr (optimizer.lr) to divide")
            params = finetuning.parameter_groups(self, float(lr))
            scales = [group["lr_scale"] for group in params]
        # Called, not instantiated with the groups: Hydra would turn their dicts into configs.
        optimizer = instantiate(self.optimizer_config, _partial_=True)(params=params)
        spec = self.scheduler_config
        if not spec or spec.get("factory") is None:
            return optimizer
        interval = spec.get("interval", "epoch")
        if interval == "validation" and not spec.get("monitor"):
            raise UserError("scheduler.interval: validation is for schedulers with a monitor (plateau)")
        extra: dict[str, Any] = {}
        steps_arg = spec.get("steps_arg")
        if steps_arg:
            if interval == "step":
                extra[steps_arg] = self._total_optimizer_steps()
            else:
                extra[steps_arg] = int(self.trainer.max_epochs or 1)
        peak = spec["factory"].get("max_lr")
        if scales and isinstance(peak, int | float):
            # one-cycle's peak is per group too, or one scalar would undo the discriminative rates
            extra["max_lr"] = [float(peak) * scale for scale in scales]
        # Called, not instantiated with the extras: Hydra would turn a list into a config.
        scheduler = instantiate(spec["factory"], _partial_=True)(optimizer=optimizer, **extra)
        config: dict[str, Any] = {"scheduler": scheduler, "interval": interval, "frequency": 1}
        if interval == "validation":
            # Offered to the scheduler after every optimiser step; ``lr_scheduler_step`` steps it only
            # when a validation has run since, so it follows validations whether they come at epoch
            # ends or every ``trainer.val_check_interval`` batches. Before the first one there is no
            # metric yet: not strict (a metric missing after a validation fails in on_validation_end).
            config.update(interval="step", strict=False)
        if spec.get("monitor"):
            config["monitor"] = spec["monitor"]
        return {"optimizer": optimizer, "lr_scheduler": config}

    def _total_optimizer_steps(self) -> int:
        """The run's optimiser steps: ``max_steps`` when it comes first, else epochs x batches."""
        total = self.trainer.estimated_stepping_batches
        if not math.isfinite(total) or total <= 0:
            raise UserError(
                f"scheduler.steps_arg: the run's total number of steps is unknown ({total}): "
                "set trainer.max_steps"
            )
        return int(total)

    def _steps_after_validation(self) -> bool:
        spec = self.scheduler_config or {}
        return spec.get("factory") is not None and spec.get("interval") == "validation"

    def on_validation_end(self) -> None:
        trainer = self._trainer
        if trainer is None or trainer.sanity_checking or not self._steps_after_validation():
            return
        monitor = (self.scheduler_config or {})["monitor"]
        if monitor not in trainer.callback_metrics:
            raise UserError(
                f"scheduler.monitor: {monitor} was not logged by validation; "
                f"logged: {', '.join(sorted(trainer.callback_metrics)) or 'nothing'}"
            )
        self._validated_since_scheduler_step = True

    def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
        if self._steps_after_validation():
            if not self._validated_since_scheduler_step:
                return
            self._validated_since_scheduler_step = False
        super().lr_scheduler_step(scheduler, metric)

    # -- self-contained checkpoints -------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "format": CHECKPOINT_FORMAT,
            "app": self.app_name,
            "config": self.run_config,
            "handoff": self.handoff,
            "fitted_state": self.fitted_state,
        }

    # -- app-specific entry points used by the CLI ----------------------------------------------

    def validation_samples(self) -> dict[str, str]:
        """Texts to show in TensorBoard after each validation epoch (tag -> markdown)."""
        return {}

    def validation_images(self) -> dict[str, torch.Tensor]:
        """Images ``[C, H, W]`` in [0, 1] to show in TensorBoard after each validation epoch."""
        return {}

    def validation_audio(self) -> dict[str, tuple[torch.Tensor, int]]:
        """Sounds to play in TensorBoard after each validation epoch: tag -> (mono samples
        ``[S]`` in [-1, 1], sample rate)."""
        return {}

    def evaluation_report(self) -> str:
        """A table (markdown) of the last test run, e.g. scores per class; empty if none."""
        return ""

    def export_graphs(self) -> list[Any]:
        """The app's inference graphs for ``lstm-apps export`` (``pipeline.export.ExportGraph``)."""
        return []

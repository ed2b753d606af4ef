"""Fine-tuning controls: frozen weights, gradual unfreezing and discriminative learning rates.

A network is cut into layer groups, bottom to top: the modules before its first recurrent block
(embeddings, feature front ends), each layer of its recurrent blocks, and the head (everything
after). ULMFiT (Howard & Ruder 2018) trains the head first and unfreezes one group more per epoch
("gradual unfreezing"), each group below the head learning ``lr_decay`` times slower than the one
above it ("discriminative fine-tuning").

``FineTuning`` is a Lightning ``BaseFinetuning`` callback: it freezes before training and
re-decides at each epoch start, from the epoch alone, which groups train. Every group is in the
optimiser from the start (with its own learning rate, ``parameter_groups``), so schedulers see
every group, nothing is added mid-run, and a resumed run trains exactly the groups an
uninterrupted one would.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Annotated, Any

import lightning as L
from annotated_types import Ge
from lightning.pytorch.callbacks import BaseFinetuning
from torch import nn
from torch.optim import Optimizer

from lstm_apps.bounds import Count
from lstm_apps.core.recurrent import RecurrentBlock
from lstm_apps.errors import UserError

LAYER = re.compile(r"_l(\d+)(?:_reverse)?$")


@dataclass
class LayerGroup:
    """A named set of parameters that train together (and share a learning rate)."""

    name: str
    parameters: list[str]


def layer_groups(model: nn.Module) -> list[LayerGroup]:
    """``model``'s parameters in layer groups, bottom (input) to top (head). The network is
    ``model.net`` (the apps' plain module) or ``model`` itself; parameters outside it join the head."""
    net = getattr(model, "net", model)
    prefix = "net." if net is not model else ""
    children = [
        (name, child) for name, child in net.named_children() if any(True for _ in child.parameters())
    ]
    blocks = [i for i, (_, child) in enumerate(children) if isinstance(child, RecurrentBlock)]
    if not blocks:
        return [LayerGroup("all", [name for name, _ in model.named_parameters()])]
    groups: list[LayerGroup] = []
    below = [param for name, child in children[: blocks[0]] for param in _names(prefix + name, child)]
    if below:
        groups.append(LayerGroup("input", below))
    for index in range(blocks[0], blocks[-1] + 1):
        name, child = children[index]
        if isinstance(child, RecurrentBlock):
            for layer in range(child.num_layers):
                groups.append(
                    LayerGroup(
                        f"{name}.l{layer}",
                        [
                            f"{prefix}{name}.{p}"
                            for p, _ in child.named_parameters()
                            if (found := LAYER.search(p)) is not None and int(found[1]) == layer
                        ],
                    )
                )
        else:  # between two recurrent blocks (a bridge): its own group
            groups.append(LayerGroup(name, list(_names(prefix + name, child))))
    grouped = {n for group in groups for n in group.parameters}
    head = [name for name, _ in model.named_parameters() if name not in grouped]
    if head:
        groups.append(LayerGroup("head", head))
    return groups


def _names(prefix: str, module: nn.Module) -> Iterator[str]:
    return (f"{prefix}.{name}" for name, _ in module.named_parameters())


class FineTuning(BaseFinetuning):
    """``freeze``: module or parameter name patterns (``fnmatch``: ``net.embedding``,
    ``net.encoder.*``) frozen for the whole run; ``unfreeze``: patterns that stay trainable even
    so. ``unfreeze_every``: gradual unfreezing, the head alone first and one layer group more
    every that many epochs (0: every group from the start). ``lr_decay``: each layer group below
    the head learns at the group above's learning rate divided by this (1: one rate for all)."""

    def __init__(
        self,
        freeze: list[str] | None = None,
        unfreeze: list[str] | None = None,
        unfreeze_every: Count = 0,
        lr_decay: Annotated[float, Ge(1)] = 1.0,
    ) -> None:
        super().__init__()
        self.freeze_patterns = list(freeze or [])
        self.unfreeze_patterns = list(unfreeze or [])
        self.unfreeze_every = unfreeze_every
        self.lr_decay = lr_decay

    @property
    def active(self) -> bool:
        return bool(self.freeze_patterns or self.unfreeze_every or self.lr_decay != 1.0)

    # -- what trains --------------------------------------------------------------------------------
    def trainable(self, model: nn.Module, epoch: int) -> set[str]:
        """The names of the parameters that train in ``epoch``."""
        groups = layer_groups(model)
        if self.unfreeze_every:
            groups = groups[-(1 + epoch // self.unfreeze_every) :]
        names = {name for group in groups for name in group.parameters}
        frozen = {name for name in names if _matches(name, self.freeze_patterns)}
        kept = {name for name in frozen if _matches(name, self.unfreeze_patterns)}
        return names - frozen | kept

    def _set(self, model: nn.Module, epoch: int) -> None:
        trainable = self.trainable(model, epoch)
        for name, param in model.named_parameters():
            param.requires_grad_(name in trainable)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._check(trainer, pl_module)
        super().setup(trainer, pl_module, stage)

    def _check(self, trainer: L.Trainer, model: nn.Module) -> None:
        names = [name for name, _ in model.named_parameters()]
        for key, patterns in (
            ("finetune.freeze", self.freeze_patterns),
            ("finetune.unfreeze", self.unfreeze_patterns),
        ):
            for pattern in patterns:
                if not any(_matches(name, [pattern]) for name in names):
                    modules = sorted({".".join(name.split(".")[:2]) for name in names})
                    raise UserError(f"{key}: {pattern!r} names no weight (modules: {', '.join(modules)})")
        if (self.unfreeze_every or self.lr_decay != 1.0) and len(layer_groups(model)) < 2:
            raise UserError(
                f"finetune: {type(model).__name__}'s network has no recurrent block among its modules, "
                "so no layer groups for unfreeze_every or lr_decay (finetune.freeze works)"
            )
        if self.unfreeze_every and trainer.world_size > 1:
            raise UserError(
                "finetune.unfreeze_every: gradual unfreezing changes which weights train mid-run, which "
                "DDP's gradient buckets (fixed when training starts) do not follow; use one device, or finetune.freeze"
            )

    def freeze_before_training(self, pl_module: L.LightningModule) -> None:
        self._set(pl_module, 0)

    def finetune_function(self, pl_module: L.LightningModule, epoch: int, optimizer: Optimizer) -> None:
        self._set(pl_module, epoch)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Not BaseFinetuning's: it records param groups added during training, to add them again
        # on resume; ours are all there from the start, so the epoch alone decides.
        self._set(pl_module, trainer.current_epoch)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # A run resumed mid-epoch gets no on_train_epoch_start for that epoch.
        self._set(pl_module, trainer.current_epoch)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Nothing to restore (see ``on_train_epoch_start``)."""

    # -- learning rates -----------------------------------------------------------------------------
    def parameter_groups(self, model: nn.Module, lr: float) -> list[dict[str, Any]]:
        """Optimiser parameter groups, one per layer group, the head at ``lr`` and each group below
        at the one above's divided by ``lr_decay``; ``lr_scale`` records the factor."""
        params = dict(model.named_parameters())
        groups = layer_groups(model)
        made = []
        for depth, group in enumerate(reversed(groups)):
            scale = self.lr_decay**-depth
            made.append(
                {
                    "params": [params[name] for name in group.parameters],
                    "lr": lr * scale,
                    "lr_scale": scale,
                    "name": group.name,
                }
            )
        return made[::-1]


def _matches(name: str, patterns: list[str]) -> bool:
    """Whether parameter ``name`` or a module it belongs to matches one of ``patterns``."""
    parts = name.split(".")
    prefixes = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatchcase(prefix, pattern) for pattern in patterns for prefix in prefixes)


def find_finetuning(trainer: L.Trainer | None) -> FineTuning | None:
    """The run's active ``FineTuning`` callback, if any."""
    if trainer is None:
        return None
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, FineTuning) and callback.active:
            return callback
    return None

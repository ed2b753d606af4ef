"""Which tensors of a new model start from which tensors of a checkpoint, and the table that says so.

Two plans: the same app (every parameter by name, where its shape and meaning still fit) and
across apps (an embedding and a recurrent encoder, layer by layer and direction by direction,
from one language model or a forward/backward pair). A plan only decides; ``apply`` copies.
Buffers are never copied: they hold what the new run's data made them (class weights,
normalisation statistics).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from lstm_apps.errors import UserError

Status = Literal["loaded", "partly", "fresh", "ignored"]
# A recurrent weight's name inside a RecurrentBlock: rnn.<kind>_l<layer>[_reverse]
RECURRENT_NAME = re.compile(
    r"rnn\.(?P<kind>weight_ih|weight_hh|weight_hr|bias_ih|bias_hh)_l(?P<layer>\d+)(?P<reverse>_reverse)?$"
)


@dataclass(frozen=True)
class TransferParts:
    """What an app's network shares with other apps: its token ``embedding`` (a module name),
    its recurrent ``encoder`` (a ``RecurrentBlock``) and the fitted-state entry (``tokenizer``)
    whose ids the embedding rows stand for."""

    embedding: str
    encoder: str
    tokenizer: str


@dataclass
class Row:
    """One tensor of the new model (or, ``ignored``, of a checkpoint) and what happened to it."""

    name: str
    status: Status
    source: str = ""
    note: str = ""
    strict: bool = True  # whether init_from_strict holds this tensor to account


@dataclass
class Copy:
    """``value`` into ``target``: whole; or into columns ``[:, start:stop]`` only, the others
    zeroed (``columns``); or rows ``value[old]`` into ``target[new]``, the others as they are
    (``rows``: ``(new, old)`` index lists)."""

    target: str
    value: torch.Tensor
    columns: tuple[int, int] | None = None
    rows: tuple[list[int], list[int]] | None = None


@dataclass(frozen=True)
class Change:
    """A fitted part fitted anew: ``why`` (for the table) and, where its entries have names (a
    tokenizer's tokens, a label set), the names of the rows before and after."""

    why: str
    names: tuple[list[str], list[str]] | None = None


@dataclass
class LoadPlan:
    """The copies to make and the table of every tensor (``rows``)."""

    origin: str
    rows: list[Row] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(row.status == status for row in self.rows)

    def mismatches(self) -> list[Row]:
        """Rows strict mode refuses: anything in scope that did not load whole."""
        return [row for row in self.rows if row.status != "loaded" and row.strict]

    def apply(self, model: nn.Module) -> None:
        params = dict(model.named_parameters())
        with torch.no_grad():
            for copy in self.copies:
                param = params[copy.target]
                value = copy.value.to(param.device, param.dtype)
                if copy.rows is not None:
                    new, old = copy.rows
                    param[torch.tensor(new, device=param.device)] = value[
                        torch.tensor(old, device=param.device)
                    ]
                elif copy.columns is None:
                    param.copy_(value)
                else:
                    start, stop = copy.columns
                    param.zero_()
                    param[:, start:stop] = value

    def table(self) -> str:
        """The loading table: one line per tensor, then the counts."""
        width = max((len(row.name) for row in self.rows), default=10)
        lines = [f"init_from: {self.origin}", f"  {'tensor':<{width}}  {'status':<7}  from / why"]
        for row in self.rows:
            detail = "; ".join(part for part in (row.source, row.note) if part)
            lines.append(f"  {row.name:<{width}}  {row.status:<7}  {detail}")
        counts = ", ".join(f"{self.count(s)} {s}" for s in ("loaded", "partly", "fresh", "ignored"))
        lines.append(f"  {counts}")
        return "\n".join(lines)


def _rows_by_name(
    plan: LoadPlan, name: str, param: torch.Tensor, value: torch.Tensor | None, change: Change
) -> None:
    """Rows of ``value`` into ``param`` where the row's entry (token, label) is in both parts."""
    pairs: list[tuple[int, int]] = []
    if value is not None and change.names is not None and value.dim() >= 1:
        before, after = change.names
        fits = (
            value.size(0) == len(before)
            and param.size(0) == len(after)
            and value.shape[1:] == param.shape[1:]
        )
        index = {entry: i for i, entry in enumerate(after)}
        pairs = [(index[entry], j) for j, entry in enumerate(before) if fits and entry in index]
    if not pairs:
        plan.rows.append(Row(name, "fresh", note=change.why))
        return
    assert value is not None
    new, old = [n for n, _ in pairs], [o for _, o in pairs]
    note = f"{len(pairs)} of {param.size(0)} rows by name, the entries both have ({change.why})"
    plan.rows.append(Row(name, "partly", source=name, note=note))
    plan.copies.append(Copy(name, value, rows=(new, old)))


def _shape(tensor: torch.Tensor) -> str:
    return "[" + ", ".join(str(n) for n in tensor.shape) + "]"


def same_app_plan(
    model: nn.Module,
    source: dict[str, torch.Tensor],
    origin: str,
    changed: dict[str, Change],
) -> LoadPlan:
    """Every parameter of ``model`` from the tensor of the same name in ``source`` where the shape
    agrees and no ``changed`` prefix (a fitted part fitted anew) says its rows mean something else
    now; such rows are copied by name where both parts have names (a grown vocabulary keeps its
    known tokens' rows), the others start fresh. Checkpoint tensors the model has no place for are
    listed as ignored."""
    plan = LoadPlan(origin)
    own = set(model.state_dict())
    for name, param in model.named_parameters():
        change = next((c for prefix, c in changed.items() if name.startswith(prefix)), None)
        value = source.get(name)
        if change is not None:
            _rows_by_name(plan, name, param, value, change)
        elif value is None:
            plan.rows.append(Row(name, "fresh", note="not in the checkpoint"))
        elif value.shape != param.shape:
            plan.rows.append(
                Row(name, "fresh", note=f"shape {_shape(value)} in the checkpoint, {_shape(param)} here")
            )
        else:
            plan.rows.append(Row(name, "loaded", source=name))
            plan.copies.append(Copy(name, value))
    for name in source:
        if name not in own:
            plan.rows.append(Row(name, "ignored", note="no such tensor in this model"))
    return plan


@dataclass
class EncoderSource:
    """A checkpoint's shareable parts: its tensors, where its parts live, and its label in tables."""

    label: str
    state: dict[str, torch.Tensor]
    parts: TransferParts

    def recurrent(self, kind: str, layer: int, reverse: bool) -> tuple[str, torch.Tensor] | None:
        name = f"{self.parts.encoder}.rnn.{kind}_l{layer}{'_reverse' if reverse else ''}"
        value = self.state.get(name)
        return None if value is None else (name, value)

    def bidirectional(self) -> bool:
        return f"{self.parts.encoder}.rnn.weight_hh_l0_reverse" in self.state


def encoder_plan(
    model: nn.Module,
    parts: TransferParts,
    forward: EncoderSource,
    backward: EncoderSource | None,
    take_embedding: bool,
    origin: str,
) -> LoadPlan:
    """The embedding and the recurrent encoder of ``model`` from another app's (a language
    model's): layer ``k`` from layer ``k``; a bidirectional encoder's forward direction from
    ``forward`` and its backward direction from ``backward`` (a model of reversed text), or from
    ``forward``'s own backward direction when it has one. An input weight that reads more
    features here than there (the tagger's character features beside the words; a bidirectional
    layer above the first, which reads both directions) is filled in the columns of the features
    the source read and zeroed elsewhere, so each direction computes at first exactly what the
    language model did. A shape that cannot map is an error naming both."""
    plan = LoadPlan(origin)
    used: set[tuple[str, str]] = set()
    embedding_name = f"{parts.embedding}.weight"
    params = dict(model.named_parameters())
    for name, param in params.items():
        if name == embedding_name:
            _embedding_row(plan, name, param, forward, take_embedding, used)
            continue
        local = name[len(parts.encoder) + 1 :] if name.startswith(f"{parts.encoder}.") else None
        match = RECURRENT_NAME.fullmatch(local) if local is not None else None
        if match is None:
            plan.rows.append(Row(name, "fresh", note="not part of the transfer", strict=False))
            continue
        kind, layer, reverse = match["kind"], int(match["layer"]), bool(match["reverse"])
        source, found = _direction_source(forward, backward, kind, layer, reverse)
        if found is None:
            plan.rows.append(Row(name, "fresh", note=_missing_direction(forward, backward, layer, reverse)))
            continue
        source_name, value = found
        used.add((source.label, source_name))
        where = f"{source.label}:{source_name}"
        if value.shape == param.shape:
            plan.rows.append(Row(name, "loaded", source=where))
            plan.copies.append(Copy(name, value))
            continue
        fits_columns = (
            kind == "weight_ih"
            and value.dim() == 2
            and value.size(0) == param.size(0)
            and value.size(1) < param.size(1)
        )
        if not fits_columns:
            raise UserError(
                f"init_from: {where} is {_shape(value)} but {name} is {_shape(param)}: the encoders "
                "need the same cell, hidden_size and proj_size"
            )
        # Above the first layer a bidirectional layer reads [forward, backward] outputs below it.
        start = value.size(1) if reverse and layer > 0 and not source.bidirectional() else 0
        if start + value.size(1) > param.size(1):
            raise UserError(
                f"init_from: {where} is {_shape(value)}, which does not fit into {name} {_shape(param)}"
            )
        columns = (start, start + value.size(1))
        plan.rows.append(
            Row(
                name,
                "partly",
                source=where,
                note=f"columns {columns[0]}:{columns[1]} of {param.size(1)}, the rest zero",
            )
        )
        plan.copies.append(Copy(name, value, columns))
    for lm in [forward] if backward is None else [forward, backward]:
        for source_name in lm.state:
            if (lm.label, source_name) not in used:
                # the source's head is never expected here; an encoder layer left over is
                unused_layer = source_name.startswith(f"{lm.parts.encoder}.")
                plan.rows.append(
                    Row(f"{lm.label}:{source_name}", "ignored", note="not used here", strict=unused_layer)
                )
    return plan


def _embedding_row(
    plan: LoadPlan,
    name: str,
    param: torch.Tensor,
    forward: EncoderSource,
    take_embedding: bool,
    used: set[tuple[str, str]],
) -> None:
    source_name = f"{forward.parts.embedding}.weight"
    value = forward.state.get(source_name)
    if value is None:
        plan.rows.append(Row(name, "fresh", note=f"{forward.label} has no {source_name}"))
        return
    if not take_embedding:
        plan.rows.append(
            Row(name, "fresh", note="the language model's tokenizer was not taken (init_from_fitted)")
        )
        return
    if value.shape != param.shape:
        raise UserError(
            f"init_from: {forward.label}:{source_name} is {_shape(value)} but {name} is {_shape(param)}: "
            "the embeddings need the same size (model.embedding_dim / word_dim)"
        )
    used.add((forward.label, source_name))
    plan.rows.append(Row(name, "loaded", source=f"{forward.label}:{source_name}"))
    plan.copies.append(Copy(name, value))


def _direction_source(
    forward: EncoderSource, backward: EncoderSource | None, kind: str, layer: int, reverse: bool
) -> tuple[EncoderSource, tuple[str, torch.Tensor] | None]:
    if not reverse:
        return forward, forward.recurrent(kind, layer, False)
    if forward.bidirectional():
        return forward, forward.recurrent(kind, layer, True)
    if backward is None:
        return forward, None
    return backward, backward.recurrent(kind, layer, False)


def _missing_direction(
    forward: EncoderSource, backward: EncoderSource | None, layer: int, reverse: bool
) -> str:
    if reverse and backward is None and not forward.bidirectional():
        return "backward direction: no backward language model (init_from_backward)"
    source = backward if reverse and backward is not None else forward
    return f"layer {layer} is beyond {source.label}'s layers"

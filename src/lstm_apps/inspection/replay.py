"""Run any model with each of its recurrent blocks replayed step by step (``core/cell_trace.py``),
keeping what each block saw and did — without the model knowing: the blocks' ``forward`` is swapped
on the instances for the length of a ``with`` and put back after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import torch
from torch import nn

from lstm_apps.core.cell_trace import BlockTrace, DirectionTrace, trace_block
from lstm_apps.core.recurrent import RecurrentBlock

# Set inside ``unrecorded()``: blocks run as they always do, and nothing is kept.
_PAUSED: ContextVar[bool] = ContextVar("replay_paused", default=False)


@contextmanager
def unrecorded() -> Iterator[None]:
    """Inside a replay, run blocks normally for a while: work that prepares the inspected pass
    (a caption decoded to be read back) rather than being inspected itself."""
    token = _PAUSED.set(True)
    try:
        yield
    finally:
        _PAUSED.reset(token)


@dataclass
class BlockRecord:
    """Every call of one block during a replay, in call order."""

    name: str  # the block's qualified name in the model, e.g. "net.rnn"
    block: RecurrentBlock
    calls: list[BlockTrace] = field(default_factory=list)

    @property
    def stepped(self) -> bool:
        """Called one step at a time (a decoder): its calls are the steps of one sequence."""
        return len(self.calls) > 1 and all(call.output.size(1) == 1 for call in self.calls)

    def sequence_calls(self) -> list[BlockTrace]:
        """The calls that make up the sequence inspected: all of a stepped block's, else the first
        (the longest input a block sees in one call)."""
        return self.calls if self.stepped else self.calls[:1]

    def directions(self) -> list[DirectionTrace]:
        """Each layer-direction over the whole sequence (a stepped block's calls joined in time)."""
        calls = self.sequence_calls()
        joined = []
        for index, first in enumerate(calls[0].directions):
            parts = [call.directions[index] for call in calls]
            gates = {name: torch.cat([p.gates[name] for p in parts], dim=1) for name in first.gates}
            states = {name: torch.cat([p.states[name] for p in parts], dim=1) for name in first.states}
            norm = None if first.memory_norm is None else torch.cat([p.memory_norm for p in parts], dim=1)  # type: ignore[misc]
            joined.append(DirectionTrace(first.layer, first.direction, gates, states, first.probe, norm))
        return joined

    def lengths(self) -> torch.Tensor | None:
        calls = self.sequence_calls()
        return None if self.stepped else calls[0].lengths

    def output(self) -> torch.Tensor:
        return torch.cat([call.output for call in self.sequence_calls()], dim=1)

    def probes(self, index: int) -> list[torch.Tensor]:
        """Layer-direction ``index``'s probes, one per call of the sequence."""
        return [call.directions[index].probe for call in self.sequence_calls()]


@contextmanager
def replaying(model: nn.Module) -> Iterator[list[BlockRecord]]:
    """Inside the ``with``, every ``RecurrentBlock`` of ``model`` runs as its step-by-step replay and
    each call is recorded (blocks in the order of ``model.named_modules``)."""
    records = [
        BlockRecord(name, module)
        for name, module in model.named_modules()
        if isinstance(module, RecurrentBlock)
    ]
    for record in records:

        def replayed(
            x: torch.Tensor,
            lengths: torch.Tensor | None = None,
            state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
            *,
            record: BlockRecord = record,
        ) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
            if _PAUSED.get():
                return RecurrentBlock.forward(record.block, x, lengths, state)
            trace = trace_block(record.block, x, lengths, state)
            record.calls.append(trace)
            return trace.output.to(x.dtype), trace.final_state

        record.block.forward = replayed  # type: ignore[method-assign]
    try:
        yield records
    finally:
        for record in records:
            del record.block.forward

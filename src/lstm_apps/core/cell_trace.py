"""A ``RecurrentBlock`` replayed step by step with everything inside it visible.

The block runs fused kernels (cuDNN, oneDNN, scans, the chunkwise mLSTM) that keep their gates to
themselves. Inspection replays the same equations with the block's own weights, one step at a
time, and keeps for each layer and direction: every gate's activation, the hidden state ``h`` and
the memory ``c`` where the cell has one per unit, and a zero *probe* added to the layer's input at
every step — the gradient that reaches a probe is the learning signal arriving at that step's
input (for layers above the first, the hidden state of the layer below). The replay returns the
block's output and final state (equal to the block's, tested), so the model around it runs on it
unchanged.

Slow by design — a Python step per position: for a fixed batch at an interval
(``callbacks=inspect``) or for one input (``lstm-apps inspect``), never for training itself.
Gates are reported in ``[0, 1]``: the xLSTM cells' exponential input gate and their forget gate
as the stabilised weights the update actually applies (``exp(i - m)``, ``exp(log f + m' - m)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from lstm_apps.core.layer_stack import LayerStack, reverse_within_lengths
from lstm_apps.core.min_rnn import MinRNN
from lstm_apps.core.recurrent import RecurrentBlock, RecurrentState
from lstm_apps.core.xlstm import XLSTM, mlstm_step

# The gates each cell has, in the order they are reported.
GATES: dict[str, tuple[str, ...]] = {
    "lstm": ("input", "forget", "output"),
    "gru": ("reset", "update"),
    "rnn": (),
    "mingru": ("update",),
    "minlstm": ("forget", "input"),
    "slstm": ("input", "forget", "output"),
    "mlstm": ("input", "forget", "output"),
}

StepState = tuple[torch.Tensor, ...]


@dataclass
class DirectionTrace:
    """One layer and direction of a replayed block; tensors are batch-first ``[B, T, …]``."""

    layer: int
    direction: int  # 0 forward in time, 1 backward
    gates: dict[str, torch.Tensor]  # name -> [B, T, units], in [0, 1]
    states: dict[str, torch.Tensor]  # "h" and, where the cell has one per unit, "c": [B, T, H]
    probe: torch.Tensor  # [B, T, F] zeros added to this direction's input; requires grad
    memory_norm: torch.Tensor | None = None  # [B, T]: the mLSTM's matrix memory, whose units are not h's

    @property
    def label(self) -> str:
        return f"layer{self.layer}" + ("_backward" if self.direction else "")


@dataclass
class BlockTrace:
    """The replay of one call: the block's output and final state, and what was inside."""

    output: torch.Tensor
    final_state: torch.Tensor | tuple[torch.Tensor, torch.Tensor]
    directions: list[DirectionTrace] = field(default_factory=list)
    lengths: torch.Tensor | None = None


class _Stepper:
    """One layer and direction of one cell: its start state, its per-step input and its step."""

    def start(self, batch: int, like: torch.Tensor) -> StepState:
        raise NotImplementedError

    def prepare(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """The per-step inputs (``inputs`` ``[B, T, F]``): what needs no state, for all steps at once."""
        raise NotImplementedError

    def step(
        self, x: torch.Tensor, state: StepState
    ) -> tuple[StepState, torch.Tensor, dict[str, torch.Tensor]]:
        """The new state, ``h`` and the gates of one step."""
        raise NotImplementedError

    def memory(self, state: StepState) -> torch.Tensor | None:
        """The per-unit memory ``c`` of a state, where the cell has one."""
        return None

    def memory_norm(self, state: StepState) -> torch.Tensor | None:
        """The norm ``[B]`` of a memory whose units are not ``h``'s (the mLSTM's matrix)."""
        return None


class _TorchStepper(_Stepper):
    """torch's LSTM, GRU and RNN, from their ``weight_ih_l{k}[_reverse]`` parameters."""

    def __init__(
        self, rnn: nn.RNNBase, cell: str, layer: int, direction: int, start: StepState | None
    ) -> None:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        self.cell = cell
        self.w_ih = getattr(rnn, "weight_ih" + suffix)
        self.w_hh = getattr(rnn, "weight_hh" + suffix)
        self.b_ih = getattr(rnn, "bias_ih" + suffix, None)
        self.b_hh = getattr(rnn, "bias_hh" + suffix, None)
        self.w_hr = getattr(rnn, "weight_hr" + suffix, None)
        self.hidden_size = rnn.hidden_size
        self.nonlinearity = getattr(rnn, "nonlinearity", "tanh")
        self._start = start

    def start(self, batch: int, like: torch.Tensor) -> StepState:
        if self._start is not None:
            return self._start
        h = like.new_zeros(batch, self.w_hh.size(1))
        return (h, like.new_zeros(batch, self.hidden_size)) if self.cell == "lstm" else (h,)

    def prepare(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        return list(F.linear(inputs, self.w_ih, self.b_ih).unbind(1))

    def step(
        self, x: torch.Tensor, state: StepState
    ) -> tuple[StepState, torch.Tensor, dict[str, torch.Tensor]]:
        recurrent = F.linear(state[0], self.w_hh, self.b_hh)
        if self.cell == "lstm":
            i, f, g, o = (x + recurrent).chunk(4, dim=-1)
            i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
            c = f * state[1] + i * torch.tanh(g)
            h = o * torch.tanh(c)
            if self.w_hr is not None:
                h = F.linear(h, self.w_hr)
            return (h, c), h, {"input": i, "forget": f, "output": o}
        if self.cell == "gru":
            xr, xz, xn = x.chunk(3, dim=-1)
            hr, hz, hn = recurrent.chunk(3, dim=-1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            h = (1.0 - z) * torch.tanh(xn + r * hn) + z * state[0]
            return (h,), h, {"reset": r, "update": z}
        h = torch.tanh(x + recurrent) if self.nonlinearity == "tanh" else torch.relu(x + recurrent)
        return (h,), h, {}

    def memory(self, state: StepState) -> torch.Tensor | None:
        return state[1] if self.cell == "lstm" else None


class _MinStepper(_Stepper):
    """minGRU / minLSTM: ``h = a h + b`` with ``a, b`` from the input alone."""

    def __init__(self, stack: MinRNN, index: int, start: torch.Tensor | None) -> None:
        self.stack, self.index, self._start = stack, index, start

    def start(self, batch: int, like: torch.Tensor) -> StepState:
        return (self._start if self._start is not None else like.new_zeros(batch, self.stack.hidden_size),)

    def prepare(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        a, b = self.stack.coefficients(inputs, self.stack.projections[self.index])
        return list(torch.cat([a, b], dim=-1).unbind(1))

    def step(
        self, x: torch.Tensor, state: StepState
    ) -> tuple[StepState, torch.Tensor, dict[str, torch.Tensor]]:
        a, b = x.chunk(2, dim=-1)
        h = a * state[0] + b
        gates = {"update": 1.0 - a} if self.stack.cell == "mingru" else {"forget": a, "input": 1.0 - a}
        return (h,), h, gates


class _XStepper(_Stepper):
    """An xLSTM layer-direction: its input projection for all steps at once, then the cell's step."""

    def __init__(self, stack: XLSTM, index: int, start: torch.Tensor | None) -> None:
        self.stack, self.index, self._start = stack, index, start

    def prepare(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        return list(self.stack.projections[self.index](inputs).unbind(1))


class _SLSTMStepper(_XStepper):
    """sLSTM: state ``(h, c, n, m)``, each ``[B, H]``; block-diagonal recurrence over heads."""

    def start(self, batch: int, like: torch.Tensor) -> StepState:
        flat = self._start if self._start is not None else like.new_zeros(batch, self.stack.state_size)
        return tuple(flat.split(self.stack.hidden_size, dim=-1))

    def step(
        self, x: torch.Tensor, state: StepState
    ) -> tuple[StepState, torch.Tensor, dict[str, torch.Tensor]]:
        stack = self.stack
        h, c, n, m = state
        batch, heads, d = h.size(0), stack.heads, stack.head_size
        recurrent = torch.einsum("bhd,hde->bhe", h.view(batch, heads, d), stack.recurrent[self.index])
        i, f, z, o = (
            part.reshape(batch, -1) for part in (x.view(batch, heads, 4 * d) + recurrent).chunk(4, dim=-1)
        )
        log_f = F.logsigmoid(f) + m
        m_new = torch.maximum(log_f, i)
        keep, write = torch.exp(log_f - m_new), torch.exp(i - m_new)
        c = keep * c + write * torch.tanh(z)
        n = keep * n + write
        output = torch.sigmoid(o)
        h = output * (c / n.clamp_min(1e-30))
        return (h, c, n, m_new), h, {"input": write, "forget": keep, "output": output}

    def memory(self, state: StepState) -> torch.Tensor | None:
        return state[1] / state[2].clamp_min(1e-30)  # the cell's normalised memory, what h reads


class _MLSTMStepper(_XStepper):
    """mLSTM: state ``(h, C, n, m)``; gates per head (reported for each of the head's units)."""

    def start(self, batch: int, like: torch.Tensor) -> StepState:
        stack = self.stack
        heads, d, hidden = stack.heads, stack.head_size, stack.hidden_size
        flat = self._start if self._start is not None else like.new_zeros(batch, stack.state_size)
        h, c, n, m = flat.split([hidden, heads * d * d, hidden, heads], dim=-1)
        return h, c.view(batch, heads, d, d), n.view(batch, heads, d), m

    def step(
        self, x: torch.Tensor, state: StepState
    ) -> tuple[StepState, torch.Tensor, dict[str, torch.Tensor]]:
        stack = self.stack
        hidden, heads, d = stack.hidden_size, stack.heads, stack.head_size
        batch = x.size(0)
        q, k, v, o = (part.view(batch, heads, d) for part in x[:, : 4 * hidden].split(hidden, dim=-1))
        i = x[:, 4 * hidden : 4 * hidden + heads]
        log_f = F.logsigmoid(x[:, 4 * hidden + heads :])
        _, c, n, m = state
        read, (c, n, m_new) = mlstm_step(q, k / math.sqrt(d), v, i, log_f, c, n, m)
        output = torch.sigmoid(o)
        h = (output * read).reshape(batch, hidden)
        per_unit = {  # a head's scalar gate, for each of its units
            "input": torch.exp(i - m_new),
            "forget": torch.exp(log_f + m - m_new),
        }
        gates = {name: g.repeat_interleave(d, dim=-1) for name, g in per_unit.items()}
        gates["output"] = output.reshape(batch, hidden)
        return (h, c, n, m_new), h, gates

    def memory_norm(self, state: StepState) -> torch.Tensor | None:
        return torch.linalg.vector_norm(state[1].flatten(1), dim=-1)


def _steppers(block: RecurrentBlock, state: RecurrentState | None) -> list[_Stepper]:
    """One stepper per layer and direction (layer-major), each starting from its part of ``state``."""
    rnn = block.rnn
    directions = block.num_directions
    steppers: list[_Stepper] = []
    for index in range(block.num_layers * directions):
        layer, direction = divmod(index, directions)
        if isinstance(rnn, LayerStack):
            flat = None if state is None or isinstance(state, tuple) else state[index]
            if isinstance(rnn, MinRNN):
                steppers.append(_MinStepper(rnn, index, flat))
            elif isinstance(rnn, XLSTM) and block.cell == "slstm":
                steppers.append(_SLSTMStepper(rnn, index, flat))
            elif isinstance(rnn, XLSTM):
                steppers.append(_MLSTMStepper(rnn, index, flat))
            continue
        start: StepState | None = None
        if isinstance(state, tuple):
            start = (state[0][index], state[1][index])
        elif state is not None:
            start = (state[index],)
        assert isinstance(rnn, nn.RNNBase)
        steppers.append(_TorchStepper(rnn, block.cell, layer, direction, start))
    return steppers


def _final_state(
    block: RecurrentBlock, finals: list[StepState]
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The finals of every layer and direction in the block's own state layout."""
    rnn = block.rnn
    if isinstance(rnn, LayerStack):
        flats = [torch.cat([part.flatten(1) for part in final], dim=-1) for final in finals]
        return torch.stack(flats)
    if block.cell == "lstm":
        return torch.stack([f[0] for f in finals]), torch.stack([f[1] for f in finals])
    return torch.stack([f[0] for f in finals])


def _run_direction(
    stepper: _Stepper, inputs: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, StepState, dict[str, torch.Tensor]]:
    """Step over ``inputs`` ``[B, T, F]``; steps at or after a row's length keep its state and
    output zeros. Returns the outputs, the final state and, per step ``[B, T, …]``, the gates and
    (under ``_c`` and ``_memory_norm``) the memory."""
    batch = inputs.size(0)
    state = stepper.start(batch, inputs)
    outputs: list[torch.Tensor] = []
    gates: dict[str, list[torch.Tensor]] = {}
    memories: list[torch.Tensor] = []
    norms: list[torch.Tensor] = []
    for t, x in enumerate(stepper.prepare(inputs)):
        new_state, h, step_gates = stepper.step(x, state)
        if lengths is not None:
            real = (t < lengths).view(batch, 1)
            new_state = tuple(
                torch.where(real.view(batch, *([1] * (new.dim() - 1))), new, old)
                for new, old in zip(new_state, state, strict=True)
            )
            h = h * real
        state = new_state
        outputs.append(h)
        for name, gate in step_gates.items():
            gates.setdefault(name, []).append(gate)
        memory = stepper.memory(state)
        if memory is not None:
            memories.append(memory)
        norm = stepper.memory_norm(state)
        if norm is not None:
            norms.append(norm)
    stacked_gates = {name: torch.stack(values, dim=1) for name, values in gates.items()}
    if memories:
        stacked_gates["_c"] = torch.stack(memories, dim=1)
    if norms:
        stacked_gates["_memory_norm"] = torch.stack(norms, dim=1).unsqueeze(-1)
    return torch.stack(outputs, dim=1), state, stacked_gates


def trace_block(
    block: RecurrentBlock,
    x: torch.Tensor,
    lengths: torch.Tensor | None = None,
    state: RecurrentState | None = None,
) -> BlockTrace:
    """Replay ``block`` (a ``RecurrentBlock`` in eval mode: no dropout between layers) on ``x``
    ``[B, T, F]`` step by step; returns its output and final state and each layer-direction's trace."""
    if lengths is not None:
        lengths = lengths.to(x.device, torch.int64)
    x = x.float()
    if state is not None:
        state = tuple(s.float() for s in state) if isinstance(state, tuple) else state.float()  # type: ignore[assignment]
    steppers = _steppers(block, state)
    directions = block.num_directions
    traces: list[DirectionTrace] = []
    finals: list[StepState] = []
    layer_input = x
    for layer in range(block.num_layers):
        outputs = []
        for direction in range(directions):
            probe = torch.zeros_like(layer_input, requires_grad=True)
            inputs = layer_input + probe
            if direction:
                inputs = reverse_within_lengths(inputs, lengths)
            stepper = steppers[layer * directions + direction]
            out, final, gates = _run_direction(stepper, inputs, lengths)
            if direction:  # back in reading order
                out = reverse_within_lengths(out, lengths)
                gates = {name: reverse_within_lengths(g, lengths) for name, g in gates.items()}
            states = {"h": out}
            if "_c" in gates:
                states["c"] = gates.pop("_c")
            norm = gates.pop("_memory_norm", None)
            memory_norm = None if norm is None else norm.squeeze(-1)
            traces.append(DirectionTrace(layer, direction, gates, states, probe, memory_norm))
            finals.append(final)
            outputs.append(out)
        layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]
    return BlockTrace(layer_input, _final_state(block, finals), traces, lengths)

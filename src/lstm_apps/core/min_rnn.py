"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): recurrences whose gates read
the input only, so that a whole sequence is one linear recurrence ``h_t = a_t * h_{t-1} + b_t``
with ``a_t`` in (0, 1), computed as a parallel scan instead of step by step.

- minGRU: ``z = sigmoid(W_z x)``, ``h~ = W_h x``; ``a = 1 - z``, ``b = z * h~``.
- minLSTM: ``f = sigmoid(W_f x)``, ``i = sigmoid(W_i x)``, ``h~ = W_h x``; ``f, i`` normalised to
  sum to one (the paper's time-independent form); ``a = f'``, ``b = i' * h~``.

The scan (``linear_scan``) works in chunks: inside each chunk a doubling scan (Hillis & Steele:
log2(chunk) passes of products and sums over every chunk at once), across chunks the same scan
again over the chunks' ends. Only products of numbers in (0, 1) and sums are formed — no division
by a cumulative product, which underflows and overflows on long sequences — so it is as stable as
stepping, in float32 whatever the autocast dtype.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

from lstm_apps.core.layer_stack import LayerStack, recurrence_dtype

MinCell = Literal["mingru", "minlstm"]
CHUNK = 16  # steps scanned by doubling at once: 4 passes; measured in bench/run.py's cells table
_PROJECTIONS: dict[str, int] = {"mingru": 2, "minlstm": 3}


def _doubling_scan(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inclusive scan along dim -2 of ``(a, b)`` pairs composed as ``(a1 a2, a2 b1 + b2)``: the
    cumulative product of ``a`` and the state each step reaches from a zero start (new tensors)."""
    a, b = a.clone(), b.clone()
    steps = a.size(-2)
    shift = 1
    while shift < steps:
        b[..., shift:, :] += a[..., shift:, :] * b[..., :-shift, :]  # the product is made before the sum
        a[..., shift:, :] = a[..., shift:, :] * a[..., :-shift, :]
        shift *= 2
    return a, b


def _chunked_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, chunk: int) -> torch.Tensor:
    """The scan in parallel: doubling inside chunks, then the same over the chunks' ends."""
    batch, steps, width = a.shape
    if steps <= chunk:
        b = b.clone()
        b[:, 0] += a[:, 0] * h0
        return _doubling_scan(a, b)[1]
    padding = (-steps) % chunk
    if padding:  # a = 1, b = 0: the state passes through unchanged
        a = F.pad(a, (0, 0, 0, padding), value=1.0)
        b = F.pad(b, (0, 0, 0, padding))
    chunks = (steps + padding) // chunk
    within_a, within_b = _doubling_scan(
        a.view(batch, chunks, chunk, width), b.view(batch, chunks, chunk, width)
    )
    ends = _chunked_scan(within_a[:, :, -1], within_b[:, :, -1], h0, chunk)  # the state after each chunk
    starts = torch.cat([h0.unsqueeze(1), ends[:, :-1]], dim=1)
    states = within_b.addcmul_(within_a, starts.unsqueeze(2))
    return states.reshape(batch, chunks * chunk, width)[:, :steps]


def _stepped_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """The scan one step at a time over time-major ``[T, B, H]`` tensors (each step's rows side by
    side in memory), one fused multiply-add per step into the output: on a CPU the fastest
    (docs/cells.md), as every step's work is already spread over the cores."""
    states = torch.empty_like(b)
    state = h0
    for t in range(a.size(0)):
        state = torch.addcmul(b[t], a[t], state, out=states[t])
    return states


def _stepped_scan_backwards(a: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``g_t = grad_t + a_{t+1} g_{t+1}`` from the last step back (time-major), in place of
    flipping the tensors and scanning forwards."""
    g = torch.empty_like(grad)
    g[-1] = grad[-1]
    for t in range(a.size(0) - 2, -1, -1):
        torch.addcmul(grad[t], a[t + 1], g[t + 1], out=g[t])
    return g


def _parallel_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, chunk: int) -> torch.Tensor:
    """The chunked scan over time-major tensors."""
    batch_first = _chunked_scan(a.transpose(0, 1).contiguous(), b.transpose(0, 1).contiguous(), h0, chunk)
    return batch_first.transpose(0, 1).contiguous()


def _stepping(a: torch.Tensor) -> bool:
    """Step through time (a CPU) rather than scan in parallel (a GPU)."""
    return a.device.type == "cpu"


def _scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, chunk: int) -> torch.Tensor:
    """The scan over time-major tensors: stepped on a CPU, in parallel elsewhere."""
    if _stepping(a):
        return _stepped_scan(a, b, h0)
    return _parallel_scan(a, b, h0, chunk)


class _LinearScan(torch.autograd.Function):
    """``h_t = a_t h_{t-1} + b_t`` with its own backward: the gradient is the same recurrence run
    backwards (``g_t = dh_t + a_{t+1} g_{t+1}``), so only ``a`` and the states are kept, not every
    pass of the scan."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, chunk: int) -> torch.Tensor:
        states = _scan(a, b, h0, chunk)
        ctx.save_for_backward(a, states, h0)
        ctx.chunk = chunk
        return states

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, None]:
        a, states, h0 = ctx.saved_tensors
        grad = grad.contiguous()
        if _stepping(a):
            g = _stepped_scan_backwards(a, grad)
        else:  # a_{t+1} (none after the end), scanned from the end
            following = torch.cat([a[1:], torch.zeros_like(a[:1])], dim=0)
            g = _scan(following.flip(0), grad.flip(0), torch.zeros_like(h0), ctx.chunk).flip(0)
        grad_a = torch.empty_like(a)
        torch.mul(g[1:], states[:-1], out=grad_a[1:])
        torch.mul(g[0], h0, out=grad_a[0])
        return grad_a, g, a[0] * g[0], None


def scan_time_major(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """``h_t = a_t * h_{t-1} + b_t`` over time-major ``a``, ``b`` ``[T, B, H]`` from ``h0`` ``[B, H]``."""
    return _LinearScan.apply(a.contiguous(), b.contiguous(), h0.contiguous(), chunk)


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """``h_t = a_t * h_{t-1} + b_t`` for every ``t``; ``a``, ``b``: ``[B, T, H]``, ``h0``: ``[B, H]``;
    returns ``[B, T, H]``. On a CPU step by step, elsewhere as a parallel scan in chunks."""
    return scan_time_major(a.transpose(0, 1), b.transpose(0, 1), h0, chunk).transpose(0, 1)


class MinRNN(LayerStack):
    """Stacked, optionally bidirectional minGRU or minLSTM layers over batch-first inputs, called as
    torch's GRU is (``LayerStack``: state ``h`` ``[L * D, B, H]``); a padded step leaves the state
    as it is (``a = 1, b = 0``), so the final state is each sequence's last real step's."""

    def __init__(
        self,
        cell: MinCell,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(
            cell,
            input_size,
            hidden_size,
            num_layers,
            bidirectional,
            dropout,
            _PROJECTIONS[cell] * hidden_size,
        )

    def reset_parameters(self) -> None:
        """Xavier weights per projection; zero biases, but the forget/keep gate's at 1 (as the LSTM's
        forget bias: remember by default)."""
        for projection in self.linears():
            for part in projection.weight.data.chunk(_PROJECTIONS[self.cell], dim=0):
                nn.init.xavier_uniform_(part)
            nn.init.zeros_(projection.bias.data)
            if self.cell == "minlstm":
                projection.bias.data[: self.hidden_size].fill_(1.0)  # f
            else:
                projection.bias.data[: self.hidden_size].fill_(-1.0)  # z: update little at first

    def coefficients(self, x: torch.Tensor, projection: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """``a`` and ``b`` of the recurrence for the inputs ``x`` (``[T, B, F]``), in float32."""
        parts = projection(x).to(recurrence_dtype(x)).chunk(_PROJECTIONS[self.cell], dim=-1)
        if self.cell == "mingru":
            gate, candidate = parts
            z = torch.sigmoid(gate)
            return 1.0 - z, z * candidate
        forget, keep, candidate = parts
        # f / (f + i) and i / (f + i) with f, i sigmoids, computed from logits without dividing:
        # f / (f + i) = sigmoid(log f - log i).
        kept = torch.sigmoid(F.logsigmoid(forget) - F.logsigmoid(keep))
        return kept, (1.0 - kept) * candidate  # i' = 1 - f'

    def run_direction(
        self,
        index: int,
        inputs: torch.Tensor,
        state: torch.Tensor | None,
        padded: torch.Tensor | None,
        lengths: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.coefficients(inputs, self.projections[index])
        if (
            padded is not None
        ):  # a padded step passes the state through: its final state is the last real one's
            a = a.masked_fill(padded, 1.0)
            b = b.masked_fill(padded, 0.0)
        h0 = state if state is not None else a.new_zeros(a.size(1), self.hidden_size)
        states = scan_time_major(a, b, h0)
        return states, states[-1]

"""sLSTM and mLSTM, the two cells of xLSTM (Beck et al. 2024), as layers of the one recurrent block.

Both gate their input exponentially, ``i = exp(i~)``, and keep a normaliser state ``n`` and a
stabiliser ``m`` (a running maximum of log gates) so that no exponential overflows; the forget gate
is a sigmoid (``log f = logsigmoid(f~)``).

- **sLSTM** (scalar memory, memory mixing): per unit ``c_t = f c + i tanh(z~)``, ``n_t = f n + i``,
  ``h_t = sigmoid(o~) c_t / n_t``; the gates read the input and ``h_{t-1}`` through a recurrent
  matrix that is block-diagonal over heads (units mix within their head). ``h`` feeds back, so it
  steps through time: one batched matrix product per step for all heads.
- **mLSTM** (matrix memory, no hidden-to-hidden term): per head ``C_t = f C + i k v^T``,
  ``n_t = f n + i k``, ``h_t = sigmoid(o) * (C_t^T q) / max(|n_t . q|, 1)``, with scalar gates per
  head. Its gates read the input only, so a sequence is computed **chunkwise**: inside a chunk of
  ``MLSTM_CHUNK`` steps in the parallel (attention-like, quadratic in the chunk) form, across chunks
  through the carried ``(C, n, m)`` — linear in the length. A one-step call (sampling, beam
  search) runs the recurrent form.

Written here rather than taken from the NX-AI ``xlstm`` package: the block needs lengths (padding
that never enters the state), a state in and out and a one-step mode, which its layers do not offer
together on a CPU; ``bench/cells.py`` measures both side by side (docs/cells.md).

The recurrence runs in float32 whatever the autocast dtype (the projections keep it): the
stabiliser's exponentials lose their point in bfloat16.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from lstm_apps.core.layer_stack import LayerStack, last_real_step, recurrence_dtype

XCell = Literal["slstm", "mlstm"]
MLSTM_CHUNK = 64  # steps in the parallel form at once (docs/cells.md)
_TINY = 1e-30
_CLOSED = 1e30  # a padded step's input gate is exp(-_CLOSED) = 0 and its forget gate 1: state kept


def heads_for(hidden_size: int) -> int:
    """Heads of an xLSTM layer: 4 (the paper's and package's default) where the width divides."""
    return next(heads for heads in (4, 2, 1) if hidden_size % heads == 0)


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``[B, H]`` -> ``[heads, B, H / heads]`` (head-major, as the per-head products want)."""
    return x.view(x.size(0), heads, -1).transpose(0, 1)


def _unheads(x: torch.Tensor) -> torch.Tensor:
    """``[heads, B, d]`` -> ``[B, heads * d]``."""
    return x.transpose(0, 1).reshape(x.size(1), -1)


class XLSTM(LayerStack):
    """Stacked, optionally bidirectional sLSTM or mLSTM layers (``LayerStack``: called as torch's GRU
    with ``lengths``). State per layer and direction, flat: sLSTM ``[h, c, n, m]`` (``4 H``);
    mLSTM ``[h, C, n, m]`` (``H + heads * d * d + H + heads``, ``d = H / heads``)."""

    def __init__(
        self,
        cell: XCell,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        heads = heads_for(hidden_size)
        # sLSTM: gates (i, f, z, o) grouped by head; mLSTM: q, k, v, o, then i and f per head.
        width = 4 * hidden_size + (2 * heads if cell == "mlstm" else 0)
        super().__init__(cell, input_size, hidden_size, num_layers, bidirectional, dropout, width)
        self.heads = heads
        self.head_size = hidden_size // heads
        if cell == "slstm":  # block-diagonal recurrent weights: [layer x direction, head, d, 4 d]
            self.recurrent = nn.Parameter(
                torch.empty(num_layers * self.directions, self.heads, self.head_size, 4 * self.head_size)
            )

    @property
    def state_size(self) -> int:
        if self.cell == "slstm":
            return 4 * self.hidden_size
        return 2 * self.hidden_size + self.heads * self.head_size**2 + self.heads

    def reset_parameters(self) -> None:
        """Xavier input weights, orthogonal recurrent blocks; forget biases open (sLSTM 1, mLSTM 3 to
        6 across heads, as the paper's code), the other biases zero."""
        hidden, d = self.hidden_size, self.head_size
        for projection in self.linears():
            nn.init.zeros_(projection.bias.data)
            weight, bias = projection.weight.data, projection.bias.data
            if self.cell == "slstm":
                for part in weight.chunk(4 * self.heads, dim=0):
                    nn.init.xavier_uniform_(part)
                bias.view(self.heads, 4, d)[:, 1].fill_(1.0)
            else:
                for part in weight[: 4 * hidden].chunk(4, dim=0):
                    nn.init.xavier_uniform_(part)
                nn.init.zeros_(weight[4 * hidden :])  # the gates start from their biases
                bias[4 * hidden + self.heads :] = torch.linspace(3.0, 6.0, self.heads)
        if self.cell == "slstm":
            for block in self.recurrent.data.view(-1, d, 4, d).unbind(0):
                for gate in block.unbind(1):
                    nn.init.orthogonal_(gate)

    def run_direction(
        self,
        index: int,
        inputs: torch.Tensor,
        state: torch.Tensor | None,
        padded: torch.Tensor | None,
        lengths: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        dtype = recurrence_dtype(inputs)
        projected = self.projections[index](inputs).to(dtype)
        if state is None:
            state = projected.new_zeros(inputs.size(1), self.state_size)
        with torch.autocast(inputs.device.type, enabled=False):
            if self.cell == "slstm":
                outputs, memory = self._slstm(index, projected, state, padded)
            else:
                outputs, memory = self._mlstm(projected, state, padded)
        final = torch.cat([last_real_step(outputs, lengths), memory], dim=-1)
        return outputs, final

    def _slstm(
        self, index: int, projected: torch.Tensor, state: torch.Tensor, padded: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        steps, batch, _ = projected.shape
        heads, d = self.heads, self.head_size
        gates = projected.view(steps, batch, heads, 4, d)
        if padded is not None:  # input gate shut, forget gate open: the step keeps c, n and m
            closed = gates.new_tensor([-_CLOSED, _CLOSED]).view(1, 1, 1, 2, 1)
            shut = torch.where(padded.view(steps, batch, 1, 1, 1), closed, gates[:, :, :, :2])
            gates = torch.cat([shut, gates[:, :, :, 2:]], dim=3)
        # Head-major per step, so that the recurrent product is one batched product over heads.
        inputs = gates.permute(0, 2, 1, 3, 4).reshape(steps, heads, batch, 4 * d)
        h, c, n, m = (_heads(part, heads) for part in state.split(self.hidden_size, dim=-1))
        weights = self.recurrent[index].to(projected.dtype)
        outputs = []
        # unbind, not inputs[t]: the backward of one index per step would build a gradient of the
        # whole sequence at every step (quadratic in the length); unbind's stacks them once.
        # (A hand-written backward for this loop measured no faster on the CPU: its time is the
        # products and the elementwise work, not autograd's bookkeeping.)
        for step_input in inputs.unbind(0):
            i, f, z, o = torch.baddbmm(step_input, h, weights).chunk(4, dim=-1)
            log_f = F.logsigmoid(f) + m
            m = torch.maximum(log_f, i)
            keep, write = torch.exp(log_f - m), torch.exp(i - m)
            c = torch.addcmul(keep * c, write, torch.tanh(z))
            n = torch.addcmul(write, keep, n)
            h = torch.sigmoid(o) * (c / n.clamp_min(_TINY))  # |c| <= n: an underflowed n is c = 0
            outputs.append(h)
        hidden = torch.stack(outputs).permute(0, 2, 1, 3).reshape(steps, batch, self.hidden_size)
        return hidden, torch.cat([_unheads(c), _unheads(n), _unheads(m)], dim=-1)

    def _mlstm(
        self, projected: torch.Tensor, state: torch.Tensor, padded: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        steps, batch, _ = projected.shape
        hidden, heads, d = self.hidden_size, self.heads, self.head_size
        q, k, v, o = projected[..., : 4 * hidden].split(hidden, dim=-1)
        i = projected[..., 4 * hidden : 4 * hidden + heads]
        log_f = F.logsigmoid(projected[..., 4 * hidden + heads :])
        if padded is not None:
            i = i.masked_fill(padded, -_CLOSED)
            log_f = log_f.masked_fill(padded, 0.0)

        def per_head(x: torch.Tensor) -> torch.Tensor:  # [T, B, H] -> [B, heads, T, d]
            return x.reshape(steps, batch, heads, d).permute(1, 2, 0, 3)

        q, k, v = per_head(q), per_head(k) / math.sqrt(d), per_head(v)
        i, log_f = i.permute(1, 2, 0), log_f.permute(1, 2, 0)  # [B, heads, T]
        _, memory_c, memory_n, memory_m = state.split([hidden, heads * d * d, hidden, heads], dim=-1)
        memory = (memory_c.view(batch, heads, d, d), memory_n.view(batch, heads, d), memory_m)
        if steps == 1:
            h, memory = mlstm_step(q[:, :, 0], k[:, :, 0], v[:, :, 0], i[..., 0], log_f[..., 0], *memory)
            h = h.unsqueeze(2)
        else:
            h, memory = mlstm_chunkwise(q, k, v, i, log_f, *memory, chunk=MLSTM_CHUNK)
        outputs = torch.sigmoid(o) * h.permute(2, 0, 1, 3).reshape(steps, batch, hidden)
        c, n, m = memory
        return outputs, torch.cat([c.flatten(1), n.flatten(1), m], dim=-1)


MLSTMMemory = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def mlstm_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    log_f: torch.Tensor,
    c: torch.Tensor,
    n: torch.Tensor,
    m: torch.Tensor,
) -> tuple[torch.Tensor, MLSTMMemory]:
    """The recurrent form, one step: ``q, k, v`` ``[B, heads, d]``, gates ``[B, heads]``, memory
    ``C`` ``[B, heads, d, d]``, ``n`` ``[B, heads, d]``, ``m`` ``[B, heads]``."""
    m_new = torch.maximum(log_f + m, i)
    keep, write = torch.exp(log_f + m - m_new), torch.exp(i - m_new)
    c = keep[..., None, None] * c + write[..., None, None] * k.unsqueeze(-1) * v.unsqueeze(-2)
    n = keep[..., None] * n + write[..., None] * k
    numerator = (q.unsqueeze(-2) @ c).squeeze(-2)
    denominator = (q * n).sum(-1)
    h = numerator / torch.maximum(denominator.abs(), torch.exp(-m_new)).unsqueeze(-1)
    return h, (c, n, m_new)


def mlstm_chunkwise(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    log_f: torch.Tensor,
    c: torch.Tensor,
    n: torch.Tensor,
    m: torch.Tensor,
    chunk: int = MLSTM_CHUNK,
) -> tuple[torch.Tensor, MLSTMMemory]:
    """The same recurrence over ``[B, heads, T, d]`` (gates ``[B, heads, T]``), chunk by chunk: the
    outputs of a chunk from the memory it starts with plus its own steps in the parallel form, then
    the memory at its end. The stabiliser at each step is the recurrent form's, so both forms agree."""
    outputs = []
    # split, not slices: one backward that joins the chunks' gradients, not one per chunk the size of all
    chunks = zip(*(x.split(chunk, dim=2) for x in (q, k, v, i, log_f)), strict=True)
    for qc, kc, vc, ic, fc in chunks:
        decay = fc.cumsum(-1)  # log of the forget gates' product up to each step
        length = qc.size(2)
        # log weight of step s's write as read at step t (s <= t)
        log_weights = decay.unsqueeze(-1) - decay.unsqueeze(-2) + ic.unsqueeze(-2)
        future = torch.ones(length, length, dtype=torch.bool, device=q.device).triu(1)
        log_weights = log_weights.masked_fill(future, -math.inf)
        from_memory = decay + m.unsqueeze(-1)  # log weight of the memory the chunk starts with
        stabiliser = torch.maximum(from_memory, log_weights.amax(-1))
        weights = torch.exp(log_weights - stabiliser.unsqueeze(-1)) * (qc @ kc.transpose(-1, -2))
        carried = torch.exp(from_memory - stabiliser)
        numerator = weights @ vc + carried.unsqueeze(-1) * (qc @ c)
        denominator = weights.sum(-1) + carried * (qc @ n.unsqueeze(-1)).squeeze(-1)
        floor = torch.exp(-stabiliser)
        outputs.append(numerator / torch.maximum(denominator.abs(), floor).unsqueeze(-1))
        # The memory at the chunk's end.
        total = decay[..., -1]
        log_writes = total.unsqueeze(-1) - decay + ic
        m_end = torch.maximum(total + m, log_writes.amax(-1))
        writes = torch.exp(log_writes - m_end.unsqueeze(-1)).unsqueeze(-1) * kc
        kept = torch.exp(total + m - m_end)
        c = kept[..., None, None] * c + writes.transpose(-1, -2) @ vc
        n = kept[..., None] * n + writes.sum(-2)
        m = m_end
    return torch.cat(outputs, dim=2), (c, n, m)


def bridged_state(cell: XCell, hidden_size: int, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """A decoder's initial state from a summary's ``h`` and ``c`` (``[L, B, H]`` each): sLSTM
    ``c`` with ``n = 1`` (so ``c / n = c``); mLSTM the memory after one write of value ``c`` under
    key ``h`` (its state holds no ``h`` that feeds back)."""
    layers, batch, _ = h.shape
    if cell == "slstm":
        return torch.cat([h, c, torch.ones_like(c), torch.zeros_like(c)], dim=-1)
    heads = heads_for(hidden_size)
    d = hidden_size // heads
    keys = h.reshape(layers, batch, heads, d) / math.sqrt(d)
    values = c.reshape(layers, batch, heads, d)
    memory = (keys.unsqueeze(-1) * values.unsqueeze(-2)).flatten(2)
    return torch.cat([h, memory, keys.flatten(2), h.new_zeros(layers, batch, heads)], dim=-1)

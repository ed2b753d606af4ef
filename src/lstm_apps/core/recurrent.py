"""The one recurrent block every application is built from.

All recurrent layers of the project are created here, so that speed work (cuDNN, packing) and
initialisation live in one place and every app gets them for free: torch's LSTM, GRU and RNN,
minGRU / minLSTM (``lstm_apps.core.min_rnn``: gates that read the input only, a parallel scan) and
xLSTM's sLSTM / mLSTM (``lstm_apps.core.xlstm``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cache
from typing import Literal, TypeVar

import torch
from torch import nn
from torch.ao.nn.quantized import dynamic as quantized_dynamic
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from lstm_apps.core.layer_stack import LayerStack
from lstm_apps.core.min_rnn import MinRNN
from lstm_apps.core.xlstm import XLSTM, bridged_state

CellType = Literal["lstm", "gru", "rnn", "mingru", "minlstm", "slstm", "mlstm"]
# LSTM state is (h, c); the other cells' state is one tensor: GRU/RNN/minGRU/minLSTM h alone,
# sLSTM/mLSTM h followed by their memory (core/layer_stack.py).
RecurrentState = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
# What the recurrence runs over: a padded batch or a packed one.
Steps = TypeVar("Steps", torch.Tensor, PackedSequence)

# Constructors that take nn.RNNBase's arguments less its leading ``mode`` (which each cell sets).
_CELLS: dict[str, Callable[..., nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
_GATES: dict[str, int] = {"lstm": 4, "gru": 3, "rnn": 1}
_MIN_CELLS = ("mingru", "minlstm")
_X_CELLS = ("slstm", "mlstm")
# Cells with a memory beside h, which a decoder's initial state sets from a summary too.
CELLS_WITH_MEMORY = ("lstm", *_X_CELLS)


def lengths_on(lengths: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host-made ``lengths`` on ``device`` without making the host wait (a copy from page-locked
    memory, not blocking)."""
    lengths = lengths.to("cpu", torch.int64)
    if device.type == "cuda":
        return lengths.pin_memory().to(device, non_blocking=True)
    return lengths.to(device)


class RecurrentBlock(nn.Module):
    """A stacked, optionally bidirectional recurrence of one cell over batch-first inputs.

    Shapes (``B`` batch, ``T`` time, ``D`` = 2 if bidirectional else 1, ``L`` = num_layers):

    - input ``x``: ``[B, T, input_size]``; ``lengths``: ``[B]`` (optional; on the host, where
      packing reads them — lengths on the device would make the host wait for it every call)
    - output: ``[B, T, D * output_size_per_direction]``, zero at padded positions
    - state: LSTM ``(h, c)`` with ``h`` ``[L * D, B, proj_size or hidden_size]`` and
      ``c`` ``[L * D, B, hidden_size]``; GRU/RNN ``h`` ``[L * D, B, hidden_size]``; the other
      cells one tensor ``[L * D, B, state_size]`` whose first ``hidden_size`` features are ``h``
      (``hidden``). Layer-major, direction-minor, exactly as ``nn.LSTM`` orders them.

    With ``lengths`` the batch is packed (``enforce_sorted=False``) so padding never enters the
    recurrence and final states are those of each sequence's last real step; the cells that are
    not torch's take the lengths as they are (a padded step leaves their state unchanged), with the
    same result.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        cell: CellType = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        proj_size: int = 0,
    ) -> None:
        super().__init__()
        if cell not in _CELLS and cell not in _MIN_CELLS and cell not in _X_CELLS:
            raise ValueError(f"cell must be one of {sorted([*_CELLS, *_MIN_CELLS, *_X_CELLS])}, got {cell!r}")
        if proj_size and cell != "lstm":
            raise ValueError(f"proj_size is only supported by the lstm cell, not {cell!r}")
        if proj_size and proj_size >= hidden_size:
            raise ValueError(f"proj_size ({proj_size}) must be smaller than hidden_size ({hidden_size})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        kwargs = {"proj_size": proj_size} if cell == "lstm" else {}
        self.rnn: nn.Module
        if cell in _MIN_CELLS:
            self.rnn = MinRNN(cell, input_size, hidden_size, num_layers, bidirectional, dropout)  # type: ignore[arg-type]
        elif cell in _X_CELLS:
            self.rnn = XLSTM(cell, input_size, hidden_size, num_layers, bidirectional, dropout)  # type: ignore[arg-type]
        else:
            self.rnn = _CELLS[cell](
                input_size,
                hidden_size,
                num_layers=num_layers,
                batch_first=True,
                bidirectional=bidirectional,
                # nn.RNNBase warns when dropout is set on a single layer; it would do nothing there.
                dropout=dropout if num_layers > 1 else 0.0,
                **kwargs,
            )
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Feature size of the output at each step (both directions concatenated)."""
        per_direction = self.proj_size or self.hidden_size
        return per_direction * self.num_directions

    def reset_parameters(self) -> None:
        """Xavier input weights, orthogonal recurrent weights (per gate), forget-gate bias 1.

        Orthogonal recurrent matrices keep gradients from exploding/vanishing early in training
        (Saxe et al. 2014); a forget bias of 1 lets LSTMs remember by default (Jozefowicz et al. 2015).
        """
        if isinstance(self.rnn, MinRNN | XLSTM):
            self.rnn.reset_parameters()
            return
        gates = _GATES[self.cell]
        for name, param in self.rnn.named_parameters():
            if name.startswith("weight_ih"):
                for chunk in param.data.chunk(gates, dim=0):
                    nn.init.xavier_uniform_(chunk)
            elif name.startswith("weight_hh"):
                for chunk in param.data.chunk(gates, dim=0):
                    nn.init.orthogonal_(chunk)
            elif name.startswith("weight_hr"):
                nn.init.xavier_uniform_(param.data)
            elif name.startswith("bias"):
                nn.init.zeros_(param.data)
                # PyTorch gate order is (i, f, g, o); b_ih + b_hh is the effective bias.
                if self.cell == "lstm" and name.startswith("bias_ih"):
                    param.data[self.hidden_size : 2 * self.hidden_size].fill_(1.0)

    def hidden(self, state: RecurrentState) -> torch.Tensor:
        """The ``h`` of a state, ``[L * D, B, proj_size or hidden_size]``."""
        if isinstance(state, tuple):
            return state[0]
        return state[..., : self.proj_size or self.hidden_size]

    def num_parameters(self) -> int:
        """Number of trainable parameters of the recurrent layers."""
        return sum(p.numel() for p in self.rnn.parameters() if p.requires_grad)

    def forward(
        self,
        x: torch.Tensor,
        lengths: torch.Tensor | None = None,
        state: RecurrentState | None = None,
    ) -> tuple[torch.Tensor, RecurrentState]:
        """Run the recurrence; see the class docstring for shapes."""
        if isinstance(self.rnn, LayerStack):
            assert not isinstance(state, tuple)
            return self.rnn(x, state, None if lengths is None else lengths_on(lengths, x.device))
        if lengths is None:
            return self._recur(x, state)
        # Sorting by length is done here, on the host, rather than by pack_padded_sequence: it
        # copies the order to the device with a blocking copy, and pad_packed_sequence copies the
        # inverse back, each a wait for the device at every step. Non-blocking copies of
        # host-made permutations do the same job without waiting.
        lengths = lengths.to("cpu", torch.int64)
        sorted_lengths, order = torch.sort(lengths, descending=True)
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(order.numel())
        if x.is_cuda:  # only a copy from page-locked memory leaves the host free to go on
            order, inverse = order.pin_memory(), inverse.pin_memory()
        order, inverse = order.to(x.device, non_blocking=True), inverse.to(x.device, non_blocking=True)
        packed = pack_padded_sequence(x.index_select(0, order), sorted_lengths, batch_first=True)
        if state is not None:
            state = select_state(state, order)
        packed_out, final_state = self._recur(packed, state)
        out, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=x.size(1))
        return out.index_select(0, inverse), select_state(final_state, inverse)

    def _recur(self, inputs: Steps, state: RecurrentState | None) -> tuple[Steps, RecurrentState]:
        """``self.rnn`` on ``inputs``; in float32 where CPU autocast asks for bfloat16 but the
        CPU's oneDNN has no bfloat16 recurrence (e.g. AVX2-only machines), which would fail
        deep inside torch. The layers around it still run in bfloat16."""
        if _one_float32_step_on_cpu(inputs):
            with _without_onednn():
                return self.rnn(inputs, state)
        if not _needs_float32_recurrence(inputs):
            return self.rnn(inputs, state)
        with torch.autocast("cpu", enabled=False):
            return self.rnn(inputs.float(), None if state is None else _float_state(state))


def _one_float32_step_on_cpu(inputs: torch.Tensor | PackedSequence) -> bool:
    """A decoder's or sampler's one-step call on the CPU (batch-first ``[B, 1, F]``): there oneDNN's
    LSTM prepares its weights anew on every call and is 1.5-10x slower than torch's own kernel,
    forward and backward (docs/performance.md); longer inputs amortise that and keep oneDNN."""
    return (
        isinstance(inputs, torch.Tensor)
        and inputs.device.type == "cpu"
        and inputs.dtype == torch.float32
        and inputs.dim() == 3
        and inputs.size(1) == 1
        and not torch.is_autocast_enabled("cpu")
    )


def _without_onednn() -> AbstractContextManager[None]:
    """oneDNN off for the call, its other settings (None: left as they are) untouched. The switch is
    process-wide: another thread's recurrence running meanwhile takes torch's kernel too (slower
    there, never wrong)."""
    return torch.backends.mkldnn.flags(
        enabled=False, deterministic=None, allow_tf32=None, fp32_precision=None
    )


def _needs_float32_recurrence(inputs: torch.Tensor | PackedSequence) -> bool:
    data = inputs.data if isinstance(inputs, PackedSequence) else inputs
    return (
        data.device.type == "cpu"
        and torch.is_autocast_enabled("cpu")
        and torch.get_autocast_dtype("cpu") == torch.bfloat16
        and not cpu_runs_bfloat16_recurrence()
    )


@cache
def cpu_runs_bfloat16_recurrence() -> bool:
    """Whether this CPU's LSTM kernels run under bfloat16 autocast (probed once, public API only)."""
    probe = nn.LSTM(2, 2)
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            probe(torch.zeros(1, 1, 2))
    except RuntimeError:
        return False
    return True


def _float_state(state: RecurrentState) -> RecurrentState:
    if isinstance(state, tuple):
        return state[0].float(), state[1].float()
    return state.float()


def bridged(cell: CellType, hidden_size: int, h: torch.Tensor, c: torch.Tensor | None) -> RecurrentState:
    """A decoder's initial state of ``cell`` from ``h`` (and ``c``, for the cells in
    ``CELLS_WITH_MEMORY``), each ``[L, B, hidden_size]``."""
    if c is None:
        return h
    if cell == "lstm":
        return h, c
    return bridged_state(cell, hidden_size, h, c)  # type: ignore[arg-type]


def detach_state(state: RecurrentState | None) -> RecurrentState | None:
    """Cut the autograd graph of a carried state (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        h, c = state
        return h.detach(), c.detach()
    return state.detach()


def select_state(state: RecurrentState, index: torch.Tensor) -> RecurrentState:
    """Reorder/select the batch dimension of a state (used by beam search and sampling)."""
    if isinstance(state, tuple):
        h, c = state
        return h.index_select(1, index), c.index_select(1, index)
    return state.index_select(1, index)


# Inference on a CPU: the int8 twin of each layer type (torch's dynamically quantized modules).
_INT8_TWINS: dict[type[nn.Module], type[nn.Module]] = {
    nn.LSTM: quantized_dynamic.LSTM,
    nn.GRU: quantized_dynamic.GRU,
    nn.Linear: quantized_dynamic.Linear,  # only the input projections of the cells not torch's
}


def _projections_of_a_stack(model: nn.Module, modules: nn.Module) -> bool:
    return any(isinstance(m, LayerStack) and m.projections is modules for m in model.modules())


def quantize_recurrent_layers(model: nn.Module) -> int:
    """Replace, in place, every ``nn.LSTM`` and ``nn.GRU`` of ``model`` (on the CPU, in eval mode),
    and the input projections of every minGRU / minLSTM / sLSTM / mLSTM (the sLSTM's recurrent
    blocks stay float32), by their int8 twins; returns how many were replaced. An LSTM with
    ``proj_size`` stays float32: the int8 LSTM has no projection."""
    if any(p.device.type != "cpu" for p in model.parameters()):
        raise ValueError("int8 recurrent layers run on the CPU only; move the model there first")
    model.eval()
    swaps: list[tuple[nn.Module, str, nn.Module]] = []
    for parent in model.modules():
        for name, child in parent.named_children():
            if (
                isinstance(parent, nn.ModuleList)
                and isinstance(child, nn.Linear)
                and _projections_of_a_stack(model, parent)
            ):
                swaps.append((parent, name, child))  # the input projections of the cells not torch's
                continue
            twin = _INT8_TWINS.get(type(child))
            if twin is None or type(child) is nn.Linear or (isinstance(child, nn.LSTM) and child.proj_size):
                continue
            swaps.append((parent, name, child))
    for parent, name, child in swaps:
        # No qconfig: from_float's own default, int8 weights and activations quantized per step.
        object.__setattr__(child, "qconfig", None)
        with warnings.catch_warnings():  # the int8 weights are quantized tensors, whose creation warns
            warnings.filterwarnings("ignore", "torch.quantize_per_tensor", UserWarning)
            quantized = _INT8_TWINS[type(child)].from_float(child)  # type: ignore[attr-defined]
        setattr(parent, name, quantized)
    return len(swaps)

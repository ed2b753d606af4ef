"""The export adapter of ``core/attention_decoder.py``: one decoder step with its state as plain
tensors, so that a runtime (ONNX, TorchScript) can drive greedy or beam search itself. Shared by
every app built on ``AttentionDecoder`` (seq2seq, captioner)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from lstm_apps.core.attention_decoder import AttentionDecoder, DecoderState
from lstm_apps.core.export_graph import ExportGraph, flat_state, state_names


class DecoderStep(nn.Module):
    """One step of the shared attention decoder with its state as plain tensors:
    ``(token [N], memory [N, S, D], mask [N, S], h, [c], [feed]) -> (log-probs [N, V], attention
    [N, S], h, [c], [feed])``."""

    def __init__(self, decoder: AttentionDecoder) -> None:
        super().__init__()
        self.decoder = decoder
        self.lstm = decoder.rnn.cell == "lstm"

    def forward(self, tokens: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor, *state: torch.Tensor):
        recurrent = (state[0], state[1]) if self.lstm else state[0]
        feed = state[-1] if self.decoder.input_feeding else None
        logits, weights, after = self.decoder.step(tokens, memory, mask, DecoderState(recurrent, feed))
        outputs = [logits.float().log_softmax(-1), weights]
        outputs += flat_state(after.recurrent_state())
        if after.feed is not None:
            outputs.append(after.feed)
        return tuple(outputs)


def decoder_step_graph(
    decoder: AttentionDecoder, memory_size: int, extras: Mapping[str, object] | None = None
) -> ExportGraph:
    """The ``decoder_step`` graph of an app built on ``AttentionDecoder`` (``memory_size``: the
    width of the memory it attends over; ``extras``: e.g. the special token ids, for a runtime)."""
    vocab_size = decoder.output.out_features
    rnn = decoder.rnn
    cell_names = state_names(rnn.cell)
    feed = ["feed"] if decoder.input_feeding else []

    def make_inputs(n: int) -> tuple[torch.Tensor, ...]:
        source = 4 + n
        state = [torch.randn(rnn.num_layers, n, rnn.hidden_size) for _ in cell_names]
        state += [torch.randn(n, rnn.hidden_size) for _ in feed]
        return (
            torch.randint(0, vocab_size, (n,)),
            torch.randn(n, source, memory_size),
            torch.ones(n, source, dtype=torch.bool),
            *state,
        )

    inputs = ["token", "memory", "memory_mask", *cell_names, *feed]
    outputs = ["log_probs", "attention", *[f"next_{s}" for s in cell_names], *[f"next_{f}" for f in feed]]
    axes = {
        "token": {0: "batch"},
        "memory": {0: "batch", 1: "source"},
        "memory_mask": {0: "batch", 1: "source"},
        "log_probs": {0: "batch"},
        "attention": {0: "batch", 1: "source"},
    }
    for name in cell_names:
        axes[name] = axes[f"next_{name}"] = {1: "batch"}
    for name in feed:
        axes[name] = axes[f"next_{name}"] = {0: "batch"}
    return ExportGraph(
        "decoder_step", DecoderStep(decoder), make_inputs, inputs, outputs, axes, dict(extras or {})
    )

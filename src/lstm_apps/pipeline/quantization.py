"""Int8 recurrent layers for inference on a CPU (``quantize=int8`` of predict, eval and serve).

On a CPU an LSTM spends its time in matrix products, and a batch of 32 already runs them at the
core's float32 peak. Dynamic quantization stores the weights in int8 and quantizes each step's
activations on the fly, so the products run on int8 kernels (fbgemm; VNNI where the CPU has it):
the served classifier answers about twice as many requests per second (docs/serving.md). Only the
recurrent layers are quantized, where that time goes; embeddings, attention and output layers keep
float32, so what the model does at its edges (a vocabulary's logits, a CRF) is unchanged.

torch's eager-mode quantization is marked deprecated in favour of torchao, but torchao has no
int8 recurrent layer; the module classes used here (``torch.ao.nn.quantized.dynamic``) carry the
only int8 LSTM/GRU kernels torch has, and are called directly rather than through the deprecated
``quantize_dynamic`` helper.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.ao.nn.quantized import dynamic as quantized_dynamic

from lstm_apps.bounds import Quantization

_INT8_TWINS: dict[type[nn.Module], type[nn.Module]] = {
    nn.LSTM: quantized_dynamic.LSTM,
    nn.GRU: quantized_dynamic.GRU,
}


def quantize_recurrent_layers(model: nn.Module) -> int:
    """Replace, in place, every ``nn.LSTM`` and ``nn.GRU`` of ``model`` (on the CPU, in eval mode)
    by its int8 twin; returns how many were replaced. An LSTM with ``proj_size`` stays float32:
    the int8 LSTM has no projection."""
    if any(p.device.type != "cpu" for p in model.parameters()):
        raise ValueError("int8 recurrent layers run on the CPU only; move the model there first")
    model.eval()
    swaps: list[tuple[nn.Module, str, nn.Module]] = []
    for parent in model.modules():
        for name, child in parent.named_children():
            twin = _INT8_TWINS.get(type(child))
            if twin is None or (isinstance(child, nn.LSTM) and child.proj_size):
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


def apply_quantization(model: nn.Module, quantization: Quantization, device: str | torch.device) -> int:
    """``quantization`` applied to ``model`` on ``device``; the layers it quantized (0 for none)."""
    if quantization == "none":
        return 0
    if torch.device(device).type != "cpu":
        raise ValueError(f"quantize={quantization} runs on the CPU only, not on {device}")
    return quantize_recurrent_layers(model)

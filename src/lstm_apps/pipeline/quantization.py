"""Int8 recurrent layers for inference on a CPU (``quantize=int8`` of predict, eval and serve).

On a CPU an LSTM spends its time in matrix products, and a batch of 32 already runs them at the
core's float32 peak. Dynamic quantization stores the weights in int8 and quantizes each step's
activations on the fly, so the products run on int8 kernels (fbgemm; VNNI where the CPU has it):
served, the classifier answers 1.6-1.8x and seq2seq 2.1-2.3x the requests per second
(docs/serving.md). Only the recurrent layers are quantized, where that time goes; embeddings,
attention and output layers keep float32, so what the model does at its edges (a vocabulary's
logits, a CRF) is unchanged.

torch's eager-mode quantization is marked deprecated in favour of torchao, but torchao has no
int8 recurrent layer; the module classes used here (``torch.ao.nn.quantized.dynamic``) carry the
only int8 LSTM/GRU kernels torch has, and are called directly rather than through the deprecated
``quantize_dynamic`` helper.
"""

from __future__ import annotations

import torch
from torch import nn

from lstm_apps.bounds import Quantization
from lstm_apps.core.recurrent import quantize_recurrent_layers
from lstm_apps.errors import UserError


def refuse_off_the_cpu(quantization: str, key: str, where: str, quantize_key: str = "quantize") -> None:
    """One line naming ``key`` when a quantized model is sent elsewhere than the CPU: ``where`` is
    its value (a device, or an accelerator where ``auto`` means the CPU)."""
    if quantization == "none" or where in ("auto", "cpu") or where.startswith("cpu:"):
        return
    auto = " (or auto)" if key.endswith("accelerator") else ""
    raise UserError(
        f"{quantize_key}={quantization}: int8 layers run on the CPU only; set {key}=cpu{auto}, not {where}"
    )


def apply_quantization(model: nn.Module, quantization: Quantization, device: str | torch.device) -> int:
    """``quantization`` applied to ``model`` on ``device``; the layers it quantized (0 for none)."""
    if quantization == "none":
        return 0
    if torch.device(device).type != "cpu":
        raise ValueError(f"quantize={quantization} runs on the CPU only, not on {device}")
    return quantize_recurrent_layers(model)

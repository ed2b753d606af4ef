"""Numbers about a replayed recurrence and a model's gradients: gate saturation, state norms and
each recurrent layer's gradient norm."""

from __future__ import annotations

import re

import torch
from torch import nn

from lstm_apps.core.cell_trace import DirectionTrace
from lstm_apps.core.layer_stack import LayerStack
from lstm_apps.core.recurrent import RecurrentBlock

SATURATED_BELOW = 0.1
SATURATED_ABOVE = 0.9


def real_steps(lengths: torch.Tensor | None, batch: int, steps: int, device: torch.device) -> torch.Tensor:
    """``[B, T]``: True at each row's real steps (all of them without lengths)."""
    positions = torch.arange(steps, device=device).expand(batch, steps)
    if lengths is None:
        return torch.ones(batch, steps, dtype=torch.bool, device=device)
    return positions < lengths.to(device).unsqueeze(1)


def gate_values(trace: DirectionTrace, lengths: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """Each gate's activations at real steps, flat."""
    values = {}
    for name, gate in trace.gates.items():
        mask = real_steps(lengths, gate.size(0), gate.size(1), gate.device)
        values[name] = gate.detach()[mask].flatten()
    return values


def direction_statistics(trace: DirectionTrace, lengths: torch.Tensor | None) -> dict[str, float]:
    """``<gate>_saturated_low`` / ``_high`` (shares of activations < 0.1 and > 0.9) and the mean
    norm of each state (``h_norm``, ``c_norm``, ``memory_norm``) over real steps."""
    numbers: dict[str, float] = {}
    for name, values in gate_values(trace, lengths).items():
        if values.numel():
            numbers[f"{name}_saturated_low"] = float((values < SATURATED_BELOW).float().mean())
            numbers[f"{name}_saturated_high"] = float((values > SATURATED_ABOVE).float().mean())
    for name, state in trace.states.items():
        mask = real_steps(lengths, state.size(0), state.size(1), state.device)
        numbers[f"{name}_norm"] = float(torch.linalg.vector_norm(state.detach(), dim=-1)[mask].mean())
    if trace.memory_norm is not None:
        batch, steps = trace.memory_norm.shape
        mask = real_steps(lengths, batch, steps, trace.memory_norm.device)
        numbers["memory_norm"] = float(trace.memory_norm.detach()[mask].mean())
    return numbers


_LAYER_OF_NAME = re.compile(r"_l(\d+)(_reverse)?$")


def layer_gradients(block: RecurrentBlock) -> dict[int, list[torch.Tensor]]:
    """The gradients of each layer of ``block`` (both directions), by layer index."""
    rnn = block.rnn
    layers: dict[int, list[torch.Tensor]] = {}
    if isinstance(rnn, LayerStack):
        for index, projection in enumerate(rnn.projections):
            for param in projection.parameters():
                if param.grad is not None:
                    layers.setdefault(index // rnn.directions, []).append(param.grad)
        recurrent = getattr(rnn, "recurrent", None)
        if isinstance(recurrent, nn.Parameter) and recurrent.grad is not None:
            for index, grad in enumerate(recurrent.grad.unbind(0)):
                layers.setdefault(index // rnn.directions, []).append(grad)
        return layers
    for name, param in rnn.named_parameters():
        match = _LAYER_OF_NAME.search(name)
        if match and param.grad is not None:
            layers.setdefault(int(match.group(1)), []).append(param.grad)
    return layers


def layer_gradient_norms(model: nn.Module) -> dict[str, torch.Tensor]:
    """``"<block>/layer<k>"`` -> the norm of that layer's gradient (on the device, not read)."""
    norms = {}
    for name, module in model.named_modules():
        if isinstance(module, RecurrentBlock):
            for layer, grads in layer_gradients(module).items():
                norms[f"{name}/layer{layer}"] = torch.linalg.vector_norm(
                    torch.stack([torch.linalg.vector_norm(g.detach().float()) for g in grads])
                )
    return norms


def total_gradient_norm(model: nn.Module) -> torch.Tensor | None:
    """The norm over all of ``model``'s gradients, as norm clipping computes it (None: no gradients)."""
    grads = [p.grad.detach() for p in model.parameters() if p.grad is not None]
    if not grads:
        return None
    return nn.utils.get_total_norm(grads)

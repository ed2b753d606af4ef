"""What ``/info`` says about the checkpoint's training: the settings a reader wants first."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from lstm_apps.pipeline.checkpoint import CheckpointInfo

SCALARS = (str, int, float, bool, type(None))


def scalar_settings(node: Any) -> dict[str, Any]:
    """The scalar keys of a config node (``_target_`` shortened to its class name); nested nodes
    are left out, except one level of ``_target_`` nodes (the model's ``network`` settings)."""
    if not isinstance(node, DictConfig):
        return {}
    plain = OmegaConf.to_container(node, resolve=False)
    assert isinstance(plain, dict)
    found: dict[str, Any] = {}
    for name, value in plain.items():
        if name == "_target_":
            found["class"] = str(value).rpartition(".")[2]
        elif isinstance(value, SCALARS) and not (isinstance(value, str) and "${" in value):
            found[str(name)] = value
    return found


def checkpoint_summary(info: CheckpointInfo) -> dict[str, Any]:
    """Model and data settings, optimiser, seed and how far training went (epoch, step)."""
    config = info.config
    summary: dict[str, Any] = {
        "model": scalar_settings(config.get("model")),
        "data": scalar_settings(config.get("data")),
        "optimizer": scalar_settings(config.get("optimizer")),
        "seed": config.get("seed"),
    }
    for name in ("epoch", "global_step"):
        if isinstance(info.payload.get(name), int):
            summary[name] = info.payload[name]
    return summary


def handoff_summary(info: CheckpointInfo, longest: int = 256) -> dict[str, Any]:
    """The data's hand-off to the model (labels, tags, columns, horizon …) that a client needs to
    form requests and read answers: scalars and lists of at most ``longest`` scalars."""
    found: dict[str, Any] = {}
    for name, value in info.handoff.items():
        if isinstance(value, SCALARS):
            found[name] = value
        elif (
            isinstance(value, list | tuple)
            and len(value) <= longest
            and all(isinstance(v, SCALARS) for v in value)
        ):
            found[name] = list(value)
    return found

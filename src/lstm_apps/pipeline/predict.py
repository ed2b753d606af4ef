"""``predict(cfg)``: run a trained app on new input from the checkpoint alone."""

from __future__ import annotations

import torch
from omegaconf import DictConfig, OmegaConf

from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.numerics import apply_matmul_precision


def predict(cfg: DictConfig) -> str:
    """Load ``cfg.ckpt_path``, hand the remaining options to the app and print its answer."""
    apply_matmul_precision(cfg)
    info = read_checkpoint(cfg.ckpt_path, expected_app=cfg.get("expected_app"))
    model = model_from_checkpoint(info)
    device = cfg.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    options = OmegaConf.to_container(cfg, resolve=True)
    output = model.predict_cli(options)  # type: ignore[arg-type]
    print(output, flush=True)
    return output

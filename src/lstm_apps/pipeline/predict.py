"""``predict(cfg)``: run a trained app on new input from the checkpoint alone.

``configs/predict.yaml`` holds the keys every app shares; the checkpoint's app brings its own
options (``configs/predict/<app>.yaml``, read by ``lstm_apps.apps.<app>.predictor``). The
``predict`` command selects that file from the checkpoint before Hydra composes the config.
"""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig

from lstm_apps.folders import output_folder
from lstm_apps.pipeline.build import plain_dict
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.numerics import apply_matmul_precision
from lstm_apps.pipeline.predictor import deliver, predictor_for, read_options
from lstm_apps.pipeline.quantization import apply_quantization, refuse_off_the_cpu


def predict(cfg: DictConfig) -> str:
    """Load ``cfg.ckpt_path``, run its app's predictor on the remaining options, print the answer."""
    apply_matmul_precision(cfg)
    info = read_checkpoint(cfg.ckpt_path, expected_app=cfg.get("expected_app"))
    options = read_options(info.app, plain_dict(cfg))
    output_file = getattr(options, "output_file", None)
    if output_file:  # checked before the model is loaded and run
        output_folder(Path(str(output_file)).expanduser().parent, "output_file")
    quantization = cfg.get("quantize", "none")
    device = cfg.get("device") or ("cuda" if torch.cuda.is_available() and quantization == "none" else "cpu")
    refuse_off_the_cpu(quantization, "device", device)
    model = model_from_checkpoint(info).to(device)
    apply_quantization(model, quantization, device)
    prediction = predictor_for(info.app)(model, options, device).predict()
    output = deliver(prediction, getattr(options, "output_file", None))
    print(output, flush=True)
    return output

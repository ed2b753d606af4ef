"""``evaluate(cfg)``: metrics of a checkpoint on a split, rebuilt from the checkpoint alone."""

from __future__ import annotations

import json
from pathlib import Path

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf, open_dict

from lstm_apps.config_ranges import check_targets
from lstm_apps.config_ranges.schema import signature_parameters
from lstm_apps.errors import UserError
from lstm_apps.pipeline.build import instantiate_node
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.numerics import apply_matmul_precision
from lstm_apps.pipeline.quantization import apply_quantization, refuse_off_the_cpu
from lstm_apps.pipeline.train import build_datamodule

SPLIT_STAGES = {"test": "test", "val": "validate"}


def model_parameters(model_cfg: DictConfig) -> set[str]:
    """The keyword parameters of the model class ``model_cfg`` instantiates."""
    target = model_cfg.get("_target_")
    if not target:
        return set()
    return set(signature_parameters(get_class(str(target))))


def override_model_settings(
    run_cfg: DictConfig, overrides: DictConfig | dict, handoff: dict | None = None
) -> list[str]:
    """Merge ``overrides`` over the checkpoint's model settings; the ``model.<key>`` names
    changed. A key the model does not have is an error naming the ones it has (those of its
    class count too: a checkpoint saved before a setting existed still takes it)."""
    if not overrides:
        return []
    # what the data handed over (vocabulary sizes, special ids) is the checkpoint's, not a setting
    known = ({str(k) for k in run_cfg.model} | model_parameters(run_cfg.model)) - set(handoff or {})
    unknown = sorted({str(k) for k in overrides} - known)
    if unknown:
        raise UserError(
            f"model.{unknown[0]}: not a setting of this checkpoint's model "
            f"(it has: {', '.join(sorted(k for k in known if not k.startswith('_')))})"
        )
    with open_dict(run_cfg):
        run_cfg.model = OmegaConf.merge(run_cfg.model, overrides)
    return [f"model.{key!s}" for key in overrides]


def place_on_the_cpu(cfg: DictConfig, quantization: str) -> None:
    """Int8 layers run on the CPU, in float32 around them: ``trainer.accelerator=auto`` becomes
    ``cpu``; another accelerator or a reduced precision is an error naming the key."""
    refuse_off_the_cpu(quantization, "trainer.accelerator", str(cfg.trainer.get("accelerator", "auto")))
    precision = str(cfg.trainer.get("precision", "32-true"))
    if precision not in ("32-true", "32"):
        raise UserError(
            f"quantize={quantization}: the layers around the int8 ones run in float32; "
            f"set trainer.precision=32-true, not {precision}"
        )
    with open_dict(cfg):
        cfg.trainer.accelerator = "cpu"


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Score ``cfg.ckpt_path`` on ``cfg.split``; ``cfg.data`` entries override the stored data
    config, ``cfg.model`` entries the model settings the weights do not depend on (decoding)."""
    apply_matmul_precision(cfg)
    info = read_checkpoint(cfg.ckpt_path, expected_app=cfg.get("expected_app"))
    if cfg.split not in SPLIT_STAGES:
        raise UserError(f"split: must be one of {sorted(SPLIT_STAGES)}, got {cfg.split!r}")
    quantization = cfg.get("quantize", "none")
    if quantization != "none":
        place_on_the_cpu(cfg, quantization)
    run_cfg = info.config
    if cfg.get("data"):
        with open_dict(run_cfg):
            run_cfg.data = OmegaConf.merge(run_cfg.data, cfg.data)
    changed = override_model_settings(run_cfg, cfg.get("model") or {}, info.handoff)
    check_targets(run_cfg)  # the overrides, as the model's and the data's signatures allow them
    datamodule = build_datamodule(run_cfg, info.fitted_state)
    datamodule.setup(SPLIT_STAGES[cfg.split])
    try:
        model = model_from_checkpoint(info)
    except RuntimeError:  # load_state_dict: the overrides changed the network's shape
        if not changed:
            raise
        raise UserError(
            f"{', '.join(changed)}: the checkpoint's weights do not fit a model built with "
            "this; eval can change only settings the weights do not depend on (decoding ones, "
            "e.g. +model.test_beam_size=10)"
        ) from None
    apply_quantization(model, quantization, "cpu")  # none: the model as loaded
    trainer = instantiate_node(cfg.trainer, "trainer", logger=False, callbacks=[])
    runner = trainer.test if cfg.split == "test" else trainer.validate
    results = runner(model, datamodule=datamodule, verbose=False)
    metrics = {k: float(v) for k, v in (results[0] if results else {}).items()}
    if trainer.is_global_zero:
        report = model.evaluation_report()
        summary = {"checkpoint": str(info.path), "app": info.app, "split": cfg.split, "metrics": metrics}
        if report:
            summary["report"] = report
        output_dir = Path(cfg.paths.output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "metrics.json").write_text(json.dumps(summary, indent=2))
        print(" ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())), flush=True)
        if report:
            print(report, flush=True)
    return metrics

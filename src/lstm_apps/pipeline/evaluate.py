"""``evaluate(cfg)``: metrics of a checkpoint on a split, rebuilt from the checkpoint alone."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from lstm_apps.errors import UserError
from lstm_apps.pipeline.build import instantiate_node
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.numerics import apply_matmul_precision
from lstm_apps.pipeline.train import build_datamodule

SPLIT_STAGES = {"test": "test", "val": "validate"}


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Score ``cfg.ckpt_path`` on ``cfg.split``; ``cfg.data`` entries override the stored data config."""
    apply_matmul_precision(cfg)
    info = read_checkpoint(cfg.ckpt_path, expected_app=cfg.get("expected_app"))
    if cfg.split not in SPLIT_STAGES:
        raise UserError(f"split: must be one of {sorted(SPLIT_STAGES)}, got {cfg.split!r}")
    run_cfg = info.config
    if cfg.get("data"):
        with open_dict(run_cfg):
            run_cfg.data = OmegaConf.merge(run_cfg.data, cfg.data)
    datamodule = build_datamodule(run_cfg, info.fitted_state)
    datamodule.setup(SPLIT_STAGES[cfg.split])
    model = model_from_checkpoint(info)
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

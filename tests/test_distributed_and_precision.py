"""Launching and resuming on more processes (torchrun, DDP) and compiling: the shared pipeline's
behaviour beyond what every app's contract (tests/test_app_contract.py: bf16, ddp_cpu) checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers.config import compose_config
from helpers.running import run_cli
from helpers.tiny import tiny_overrides


@pytest.mark.slow
def test_torchrun_launches_one_run_with_two_processes(tmp_path: Path) -> None:
    overrides = tiny_overrides("tagger", tmp_path) + ["trainer=ddp_cpu", "trainer.max_epochs=2"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "lstm_apps.cli.train",
        *overrides,
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list((tmp_path / "runs" / "tagger").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("torchrun-"), (
        "both processes write into one run directory"
    )
    last = torch.load(runs[0] / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert last["global_step"] == 2 * 2, (
        "20 sentences / batch 5 / 2 ranks = 2 steps an epoch: each rank its shard"
    )
    predicted = run_cli(
        ["predict", f"ckpt_path={runs[0] / 'checkpoints' / 'last.ckpt'}", "text=John"], cwd=tmp_path
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]


def test_model_compile_flag_compiles_the_forward_and_keeps_checkpoint_names(tmp_path: Path) -> None:
    from lstm_apps.pipeline.train import build_datamodule, build_model

    cfg = compose_config(
        "train", [*tiny_overrides("tagger", tmp_path), "model.compile=true"], tmp_path / "run"
    )
    datamodule = build_datamodule(cfg)
    datamodule.setup("fit")
    model = build_model(cfg, datamodule)
    assert model._compiled_call_impl is not None, "nn.Module.compile applied"
    assert not any(k.startswith("_orig_mod") for k in model.state_dict())
    plain = build_model(
        compose_config("train", tiny_overrides("tagger", tmp_path), tmp_path / "plain"), datamodule
    )
    assert plain._compiled_call_impl is None


@pytest.mark.slow
def test_ddp_run_resumes_through_the_shared_pipeline(tmp_path: Path) -> None:
    """No app code knows about processes or resuming: the shared pipeline does both (each DDP run
    costs ~15 s, so one app stands for all)."""
    command = [
        "train",
        *tiny_overrides("forecaster", tmp_path),
        "trainer=ddp_cpu",
        "callbacks.early_stopping=null",
        "test_after_fit=false",
    ]
    first = run_cli([*command, "trainer.max_epochs=1", "hydra.run.dir=first"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    checkpoint = tmp_path / "first" / "checkpoints" / "last.ckpt"
    one = torch.load(checkpoint, map_location="cpu", weights_only=True)["global_step"]
    second = run_cli(
        [*command, "trainer.max_epochs=2", f"ckpt_path={checkpoint}", "hydra.run.dir=second"], cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr[-3000:]
    two = torch.load(tmp_path / "second" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert one > 0 and (two["global_step"], two["epoch"]) == (2 * one, 1), "continued with epoch 1 only"

"""The same run on more processes (torchrun) and in bf16-mixed precision, for every app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import compose_config, run_cli, tiny_textgen_overrides, write_tiny_corpus
from lstm_apps.pipeline.train import train
from test_captioner import handful
from test_classifier import tiny_classifier_overrides, write_labelled
from test_forecaster import tiny_forecaster_overrides, write_series
from test_seq2seq import tiny_seq2seq_overrides, write_pairs
from test_tagger import tiny_tagger_overrides, write_conll

FEW = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
       "trainer.limit_test_batches=1"]  # fmt: skip


def tiny_overrides(app: str, folder: Path) -> list[str]:
    if app == "textgen":
        return tiny_textgen_overrides(write_tiny_corpus(folder))
    if app == "seq2seq":
        return tiny_seq2seq_overrides(write_pairs(folder))
    if app == "tagger":
        return tiny_tagger_overrides(write_conll(folder, repeat=4))
    if app == "classifier":
        return tiny_classifier_overrides(write_labelled(folder / "data"))
    if app == "forecaster":
        return tiny_forecaster_overrides(write_series(folder / "data", 200))
    dataset = handful(folder / "data")
    return ["app=captioner", "data/dataset=karpathy", f"data.dataset.json_path={dataset}",
            f"data.dataset.image_root={dataset.parent}", "data.batch_size=4", "model.encoder.channels=16",
            "model.encoder.grid_size=2", "model.hidden_size=16", "model.embedding_dim=8", "callbacks=minimal",
            "trainer.enable_progress_bar=false", "trainer.num_sanity_val_steps=0"]  # fmt: skip


@pytest.mark.parametrize("app", ["seq2seq", "captioner", "tagger", "classifier", "forecaster"])
def test_bf16_mixed_precision_trains_every_app_on_cpu(tmp_path: Path, app: str) -> None:
    overrides = tiny_overrides(app, tmp_path) + FEW + ["trainer.precision=bf16-mixed"]
    metrics = train(compose_config("train", overrides, tmp_path / "run"))
    assert any(k.startswith("test/") for k in metrics) and any(k.startswith("val/") for k in metrics)
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values()), metrics


def test_torchrun_launches_one_run_with_two_processes(tmp_path: Path) -> None:
    overrides = tiny_overrides("tagger", tmp_path) + ["trainer=ddp_cpu", "trainer.max_epochs=2"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "lstm_apps.cli.train", *overrides]  # fmt: skip
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


@pytest.mark.parametrize("app", ["classifier", "forecaster"])
def test_new_apps_run_ddp_and_resume_through_the_shared_pipeline(tmp_path: Path, app: str) -> None:
    """No app code knows about processes or resuming: the shared pipeline does both. (Resuming
    is checked for the forecaster only: the path is the same and each DDP run costs ~15 s.)"""
    command = ["train", *tiny_overrides(app, tmp_path), "trainer=ddp_cpu", "callbacks.early_stopping=null",
               "test_after_fit=false"]  # fmt: skip
    first = run_cli([*command, "trainer.max_epochs=1", "hydra.run.dir=first"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    checkpoint = tmp_path / "first" / "checkpoints" / "last.ckpt"
    one = torch.load(checkpoint, map_location="cpu", weights_only=True)["global_step"]
    if app != "forecaster":
        assert one > 0
        return
    second = run_cli([*command, "trainer.max_epochs=2", f"ckpt_path={checkpoint}", "hydra.run.dir=second"],
                     cwd=tmp_path)  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    two = torch.load(tmp_path / "second" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert one > 0 and (two["global_step"], two["epoch"]) == (2 * one, 1), "continued with epoch 1 only"

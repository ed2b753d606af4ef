"""lstm-apps export: every app's inference graphs in ONNX (run by onnxruntime) and TorchScript
match PyTorch on random inputs, and the CLI reports the difference."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import compose_config, run_cli
from lstm_apps.errors import UserError
from lstm_apps.pipeline.export import export
from lstm_apps.pipeline.train import train
from test_distributed_and_precision import FEW, tiny_overrides

GRAPHS = {"textgen": ["step"], "seq2seq": ["encoder", "decoder_step"], "captioner": ["encoder", "decoder_step"],
          "tagger": ["emissions"], "classifier": ["probabilities"], "forecaster": ["forecast"]}  # fmt: skip


@pytest.mark.parametrize("app", sorted(GRAPHS))
def test_every_app_exports_graphs_that_match_pytorch(tmp_path: Path, app: str) -> None:
    train(
        compose_config(
            "train", [*tiny_overrides(app, tmp_path), *FEW, "test_after_fit=false"], tmp_path / "run"
        )
    )
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".pt")):
        out = tmp_path / fmt
        differences = export(
            compose_config("export", [f"ckpt_path={ckpt}", f"format={fmt}", f"output_dir={out}"])
        )
        assert sorted(differences) == sorted(GRAPHS[app])
        assert all(d <= 1e-4 for d in differences.values()), differences
        assert all((out / f"{name}{suffix}").is_file() for name in GRAPHS[app])


def test_export_cli_reports_the_difference_and_rejects_a_bad_format(tmp_path: Path) -> None:
    train(
        compose_config(
            "train", [*tiny_overrides("tagger", tmp_path), *FEW, "test_after_fit=false"], tmp_path / "run"
        )
    )
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    result = run_cli(["export", f"ckpt_path={ckpt}", f"output_dir={tmp_path / 'out'}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (
        "emissions:" in result.stdout
        and "max |onnxruntime - pytorch| =" in result.stdout
        and "ok" in result.stdout
    )
    assert (tmp_path / "out" / "emissions.json").read_text().count('"transitions"') == 1
    with pytest.raises(UserError, match="format: must be one of onnx, torchscript"):
        export(compose_config("export", [f"ckpt_path={ckpt}", "format=tflite"]))


def test_forecaster_seq2seq_head_exports_with_the_calendar_of_the_forecast_steps(tmp_path: Path) -> None:
    overrides = [*tiny_overrides("forecaster", tmp_path), *FEW, "test_after_fit=false", "model.head=seq2seq"]
    train(compose_config("train", overrides, tmp_path / "run"))
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    differences = export(compose_config("export", [f"ckpt_path={ckpt}", f"output_dir={tmp_path / 'out'}"]))
    assert list(differences) == ["forecast"] and differences["forecast"] <= 1e-4
    import onnx

    graph = onnx.load(str(tmp_path / "out" / "forecast.onnx")).graph
    assert [i.name for i in graph.input] == ["inputs", "future"]

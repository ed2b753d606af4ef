"""lstm-apps export beyond every app's contract (tests/test_app_contract.py exports each app's graphs in
both formats): the CLI's report, a bad format, and the forecaster's seq2seq head with its calendar input."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.config import compose_config
from helpers.running import FEW, run_in_process
from helpers.tiny import tiny_overrides
from lstm_apps.errors import UserError
from lstm_apps.pipeline.export import export
from lstm_apps.pipeline.train import train


def test_export_cli_reports_the_difference_and_rejects_a_bad_format(tmp_path: Path) -> None:
    train(
        compose_config(
            "train", [*tiny_overrides("tagger", tmp_path), *FEW, "test_after_fit=false"], tmp_path / "run"
        )
    )
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    result = run_in_process(["export", f"ckpt_path={ckpt}", f"output_dir={tmp_path / 'out'}"], cwd=tmp_path)
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

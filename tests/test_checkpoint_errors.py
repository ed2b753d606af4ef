"""A file that is not a usable checkpoint is named and described in one line, without torch's terms."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from lstm_apps.errors import UserError
from lstm_apps.pipeline.app_module import CHECKPOINT_FORMAT, CHECKPOINT_KEY
from lstm_apps.pipeline.checkpoint import read_checkpoint


def _ours(format_version: int = CHECKPOINT_FORMAT) -> dict:
    meta = {"format": format_version, "app": "textgen", "config": {}, "model_kwargs": {}, "vocab": {}}
    return {"state_dict": {"w": torch.zeros(2)}, CHECKPOINT_KEY: meta}


def _message(path: Path) -> str:
    with pytest.raises(UserError) as caught:
        read_checkpoint(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    for jargon in ("weights_only", "Unpickler", "central directory", "PytorchStreamReader"):
        assert jargon not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in _message(tmp_path / "nope.ckpt")


def test_text_file_renamed(tmp_path: Path) -> None:
    path = tmp_path / "notes.ckpt"
    path.write_text("epochs: 3\nsome notes\n")
    assert _message(path).endswith("is not a readable checkpoint: not a PyTorch file (it is a text file)")


def test_other_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "image.ckpt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    assert "not a PyTorch file (it starts with the bytes 89 50 4e 47)" in _message(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.ckpt"
    path.write_bytes(b"")
    assert _message(path).endswith("the file is empty")


def test_truncated_zip(tmp_path: Path) -> None:
    whole = tmp_path / "whole.ckpt"
    torch.save(_ours(), whole)
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert "the file is truncated or damaged" in _message(cut)


def test_legacy_pickle(tmp_path: Path) -> None:
    path = tmp_path / "pickled.ckpt"
    path.write_bytes(pickle.dumps(Path("x"), protocol=2))
    assert "a pickled Python file" in _message(path)


def test_torch_file_with_objects(tmp_path: Path) -> None:
    path = tmp_path / "objects.ckpt"
    torch.save({"model": torch.nn.Linear(2, 2)}, path)
    assert "holding Python objects besides tensors" in _message(path)


def test_lightning_checkpoint_of_another_program(tmp_path: Path) -> None:
    path = tmp_path / "other.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "pytorch-lightning_version": "2.6.0", "epoch": 3}, path)
    assert "is not an lstm-apps checkpoint: a Lightning checkpoint of another program" in _message(path)


def test_bare_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    assert "is not an lstm-apps checkpoint: bare model weights (a state dict)" in _message(path)


def test_other_torch_payload(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    assert "is not an lstm-apps checkpoint: a PyTorch file, but not" in _message(path)


def test_other_format_version(tmp_path: Path) -> None:
    path = tmp_path / "future.ckpt"
    torch.save(_ours(CHECKPOINT_FORMAT + 1), path)
    message = _message(path)
    assert f"of format {CHECKPOINT_FORMAT + 1}, this version reads format {CHECKPOINT_FORMAT}" in message
    assert "upgrade lstm-apps" in message


def test_current_format_reads(tmp_path: Path) -> None:
    path = tmp_path / "ours.ckpt"
    torch.save(_ours(), path)
    assert read_checkpoint(path).app == "textgen"


def test_cli_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lstm_apps.cli.main import main

    path = tmp_path / "notes.ckpt"
    path.write_text("hello")
    with pytest.raises(SystemExit) as exit_:
        main(["predict", f"ckpt_path={path}"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"lstm-apps: error: ckpt_path: {path} is not a readable checkpoint: not a PyTorch file (it is a text file)"
    ]

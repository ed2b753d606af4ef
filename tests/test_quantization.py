"""``quantize=int8``: which layers become int8, that they compute what the float ones do within
quantization's error, and the one-line refusals off the CPU. Every app's model through eval and
predict with int8 layers: ``test_app_contract.py``; served: ``test_serving.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.ao.nn.quantized import dynamic as quantized_dynamic
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers.fixture_data import app_checkpoint
from helpers.running import run_main
from lstm_apps.core.recurrent import RecurrentBlock, quantize_recurrent_layers
from lstm_apps.pipeline.quantization import apply_quantization


class Layers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = RecurrentBlock(6, 16, num_layers=2, bidirectional=True)
        self.gru = nn.GRU(6, 8, batch_first=True)
        self.projected = nn.LSTM(6, 8, proj_size=4, batch_first=True)
        self.head = nn.Linear(32, 3)


def test_lstms_and_grus_become_int8_and_compute_what_they_did() -> None:
    torch.manual_seed(0)
    model = Layers().eval()
    x, lengths = torch.randn(3, 7, 6), torch.tensor([7, 4, 2])
    with torch.no_grad():
        before_out, (before_h, _) = model.encoder(x, lengths)
        before_gru, _ = model.gru(x)
    assert quantize_recurrent_layers(model) == 2
    assert isinstance(model.encoder.rnn, quantized_dynamic.LSTM)
    assert isinstance(model.gru, quantized_dynamic.GRU)
    assert type(model.projected) is nn.LSTM and type(model.head) is nn.Linear  # no int8 twin: kept
    with torch.no_grad():
        after_out, (after_h, _) = model.encoder(x, lengths)
        after_gru, _ = model.gru(x)
    assert after_out.shape == before_out.shape and after_h.shape == before_h.shape
    assert not torch.equal(after_out, before_out)
    torch.testing.assert_close(after_out, before_out, atol=0.03, rtol=0)
    torch.testing.assert_close(after_h, before_h, atol=0.03, rtol=0)
    torch.testing.assert_close(after_gru, before_gru, atol=0.03, rtol=0)
    assert after_out[1, 4:].abs().sum() == 0 and after_out[2, 2:].abs().sum() == 0  # padding stays zero


def test_an_int8_lstm_reads_packed_batches_like_padded_ones_of_one() -> None:
    torch.manual_seed(1)
    lstm = nn.LSTM(5, 8, batch_first=True, bidirectional=True).eval()
    model = nn.Sequential(lstm)
    quantize_recurrent_layers(model)
    x = torch.randn(2, 6, 5)
    packed, _ = pad_packed_sequence(
        model[0](pack_padded_sequence(x, torch.tensor([6, 3]), batch_first=True))[0]
    )
    alone, _ = model[0](x[1:, :3])
    assert packed.shape == (6, 2, 16)
    # the batch's activation range sets the int8 scale, so a row alone differs a little
    torch.testing.assert_close(packed[:3, 1], alone[0], atol=0.03, rtol=0)


def test_none_leaves_the_model_and_int8_refuses_a_gpu_model() -> None:
    model = Layers()
    assert apply_quantization(model, "none", "cuda") == 0 and type(model.gru) is nn.GRU
    with pytest.raises(ValueError, match="runs on the CPU only, not on cuda"):
        apply_quantization(model, "int8", "cuda")
    with pytest.raises(ValueError, match="move the model there first"):
        quantize_recurrent_layers(Layers().to("meta"))


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            ["predict", "quantize=int8", "device=cuda", "text=a"],
            "quantize=int8: int8 layers run on the CPU only; set device=cpu, not cuda",
        ),
        (["predict", "quantize=fp8", "text=a"], "quantize=fp8"),
        (
            ["eval", "quantize=int8", "trainer.accelerator=gpu"],
            "quantize=int8: int8 layers run on the CPU only; set trainer.accelerator=cpu (or auto), not gpu",
        ),
        (
            ["eval", "quantize=int8", "trainer.precision=bf16-mixed"],
            "quantize=int8: the layers around the int8 ones run in float32; "
            "set trainer.precision=32-true, not bf16-mixed",
        ),
    ],
)
def test_int8_off_the_cpu_or_in_low_precision_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    ckpt = app_checkpoint(tmp_path, "tagger")
    assert run_main([command[0], f"ckpt_path={ckpt}", *command[1:]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err

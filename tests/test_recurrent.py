"""The core block: parameter count, packing, the hand-written LSTM step, initialisation, states."""

from __future__ import annotations

import pytest
import torch

from lstm_apps.core.recurrent import RecurrentBlock, detach_state, select_state


def expected_lstm_params(x: int, h: int, layers: int, directions: int) -> int:
    total = 0
    for layer in range(layers):
        inputs = x if layer == 0 else h * directions
        total += directions * 4 * (h * (inputs + h) + 2 * h)
    return total


@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, False), (3, True)])
def test_parameter_count_matches_formula(layers: int, bidirectional: bool) -> None:
    block = RecurrentBlock(7, 5, num_layers=layers, bidirectional=bidirectional)
    assert block.num_parameters() == expected_lstm_params(7, 5, layers, 2 if bidirectional else 1)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_batch_equals_each_sequence_alone(cell: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    block = RecurrentBlock(4, 6, num_layers=2, cell=cell, bidirectional=bidirectional).eval()
    lengths = torch.tensor([5, 2, 4])
    x = torch.randn(3, 5, 4)
    out, state = block(x, lengths)
    h_final = state[0] if cell == "lstm" else state
    for i, n in enumerate(lengths.tolist()):
        alone, alone_state = block(x[i : i + 1, :n])
        torch.testing.assert_close(out[i, :n], alone[0], rtol=1e-5, atol=1e-6)
        assert torch.all(out[i, n:] == 0), "padded steps must be zero"
        alone_h = alone_state[0] if cell == "lstm" else alone_state
        torch.testing.assert_close(h_final[:, i], alone_h[:, 0], rtol=1e-5, atol=1e-6)


def test_matches_hand_written_lstm_step() -> None:
    torch.manual_seed(1)
    block = RecurrentBlock(3, 2)
    x = torch.randn(1, 1, 3)
    h0, c0 = torch.randn(1, 1, 2), torch.randn(1, 1, 2)
    out, (h1, c1) = block(x, state=(h0, c0))
    rnn = block.rnn
    gates = x[0, 0] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h0[0, 0] @ rnn.weight_hh_l0.T + rnn.bias_hh_l0
    i, f, g, o = gates.chunk(4)
    c_expected = torch.sigmoid(f) * c0[0, 0] + torch.sigmoid(i) * torch.tanh(g)
    h_expected = torch.sigmoid(o) * torch.tanh(c_expected)
    torch.testing.assert_close(c1[0, 0], c_expected)
    torch.testing.assert_close(h1[0, 0], h_expected)
    torch.testing.assert_close(out[0, 0], h_expected)


def test_initialisation_orthogonal_xavier_forget_bias() -> None:
    block = RecurrentBlock(8, 6, num_layers=2)
    rnn = block.rnn
    for layer in range(2):
        w_hh = getattr(rnn, f"weight_hh_l{layer}")
        for gate in w_hh.chunk(4):
            torch.testing.assert_close(gate @ gate.T, torch.eye(6), atol=1e-5, rtol=1e-5)
        effective = getattr(rnn, f"bias_ih_l{layer}") + getattr(rnn, f"bias_hh_l{layer}")
        assert torch.all(effective[6:12] == 1.0), "forget gate bias must be 1"
        assert torch.all(effective[:6] == 0.0) and torch.all(effective[12:] == 0.0)
        w_ih = getattr(rnn, f"weight_ih_l{layer}")
        fan_in = w_ih.size(1)
        bound = (6.0 / (fan_in + 6)) ** 0.5
        assert w_ih.abs().max() <= bound + 1e-6


def test_output_size_and_state_shapes_with_projection() -> None:
    block = RecurrentBlock(4, 8, num_layers=2, bidirectional=True, proj_size=3)
    assert block.output_size == 6
    out, (h, c) = block(torch.randn(5, 7, 4), torch.tensor([7, 1, 3, 2, 6]))
    assert out.shape == (5, 7, 6)
    assert h.shape == (4, 5, 3) and c.shape == (4, 5, 8)


def test_initial_state_is_used() -> None:
    block = RecurrentBlock(2, 3, cell="gru")
    x = torch.randn(1, 4, 2)
    out_zero, _ = block(x)
    out_state, _ = block(x, state=torch.ones(1, 1, 3))
    assert not torch.allclose(out_zero, out_state)


def test_detach_and_select_state() -> None:
    h = torch.randn(2, 3, 4, requires_grad=True)
    c = torch.randn(2, 3, 4, requires_grad=True)
    detached = detach_state((h * 2, c * 2))
    assert all(not s.requires_grad for s in detached)
    picked = select_state((h, c), torch.tensor([2, 0]))
    torch.testing.assert_close(picked[0], h[:, [2, 0]])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"cell": "lstmx"}, "cell must be one of"),
        ({"proj_size": 4, "cell": "gru"}, "only supported by the lstm"),
        ({"proj_size": 8}, "must be smaller than hidden_size"),
        ({"dropout": 1.5}, "dropout must be in"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RecurrentBlock(4, 8, **kwargs)


def test_bf16_autocast_on_a_cpu_without_bf16_recurrence_runs_it_in_float32(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("lstm_apps.core.recurrent.cpu_runs_bfloat16_recurrence", lambda: False)
    torch.manual_seed(0)
    block = RecurrentBlock(4, 6, num_layers=2, bidirectional=True)
    x, lengths = torch.randn(3, 5, 4), torch.tensor([5, 2, 4])
    expected, _ = block(x, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, (h, c) = block(x.bfloat16(), lengths)
        unpacked, _ = block(x.bfloat16())
    assert out.dtype == h.dtype == c.dtype == unpacked.dtype == torch.float32
    assert torch.allclose(out, expected, atol=0.05), "only the input was rounded to bfloat16"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_one_step_on_the_cpu_runs_without_onednn_and_computes_the_same(cell: str) -> None:
    """A decoder's one-step call skips oneDNN (slow there); longer inputs keep it."""
    torch.manual_seed(0)
    block = RecurrentBlock(6, 8, num_layers=2, cell=cell)  # type: ignore[arg-type]
    seen: list[bool] = []
    block.rnn.register_forward_pre_hook(lambda *_: seen.append(torch.backends.mkldnn.enabled))
    step, steps = torch.randn(3, 1, 6), torch.randn(3, 5, 6)
    out, state = block(step)
    block(steps)
    assert seen == [False, True] and torch.backends.mkldnn.enabled
    expected, expected_state = block.rnn(step)  # the same layer called directly, oneDNN on
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(state, expected_state)

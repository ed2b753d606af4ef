"""The core block: parameter count, packing, the hand-written LSTM step, initialisation, states."""

from __future__ import annotations

import pytest
import torch

from lstm_apps.core import min_rnn, xlstm
from lstm_apps.core.attention_decoder import StateBridge
from lstm_apps.core.layer_stack import reverse_within_lengths
from lstm_apps.core.min_rnn import linear_scan
from lstm_apps.core.recurrent import RecurrentBlock, detach_state, quantize_recurrent_layers, select_state


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


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "mingru", "minlstm", "slstm", "mlstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_batch_equals_each_sequence_alone(cell: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    block = RecurrentBlock(4, 6, num_layers=2, cell=cell, bidirectional=bidirectional).eval()
    lengths = torch.tensor([5, 2, 4])
    x = torch.randn(3, 5, 4)
    out, state = block(x, lengths)
    h_final = block.hidden(state)
    for i, n in enumerate(lengths.tolist()):
        alone, alone_state = block(x[i : i + 1, :n])
        torch.testing.assert_close(out[i, :n], alone[0], rtol=1e-5, atol=1e-6)
        assert torch.all(out[i, n:] == 0), "padded steps must be zero"
        torch.testing.assert_close(h_final[:, i], block.hidden(alone_state)[:, 0], rtol=1e-5, atol=1e-6)
        if not isinstance(state, tuple):  # the whole state, memory too, is the last real step's
            torch.testing.assert_close(state[:, i], alone_state[:, 0], rtol=1e-5, atol=1e-6)


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


def stepped(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    states, h = [], h0
    for t in range(a.size(1)):
        h = a[:, t] * h + b[:, t]
        states.append(h)
    return torch.stack(states, 1)


@pytest.mark.parametrize("steps", [1, 5, 16, 17, 70])
@pytest.mark.parametrize("parallel", [False, True], ids=["stepped", "chunked"])
def test_the_scan_and_its_gradient_equal_stepping_through_the_sequence(
    steps: int, parallel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if parallel:  # the chunked doubling scan (and its backward) that run off the CPU, here on the CPU
        monkeypatch.setattr(min_rnn, "_stepping", lambda a: False)
    torch.manual_seed(0)
    a = torch.rand(2, steps, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, steps, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(linear_scan(a, b, h0, 4), stepped(a, b, h0))
    assert torch.autograd.gradcheck(lambda a, b, h0: linear_scan(a, b, h0, 4), (a, b, h0))


def test_the_scan_stays_finite_where_cumulative_products_underflow() -> None:
    a, b, h0 = torch.full((2, 3000, 3), 1e-3), torch.randn(2, 3000, 3), torch.randn(2, 3)
    found = linear_scan(a, b, h0)
    assert torch.isfinite(found).all()
    torch.testing.assert_close(found, stepped(a, b, h0))


def test_reversing_within_lengths_keeps_the_padding_in_place_and_undoes_itself() -> None:
    x = torch.arange(8.0).view(2, 4, 1)
    lengths = torch.tensor([4, 2])
    flipped = reverse_within_lengths(x, lengths)
    assert flipped[:, :, 0].tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]
    assert torch.equal(reverse_within_lengths(flipped, lengths), x)


@pytest.mark.parametrize("cell", ["mingru", "minlstm", "slstm", "mlstm"])
def test_a_new_cell_stepped_one_input_at_a_time_equals_the_whole_sequence(cell: str) -> None:
    """The decoders' and samplers' one-step mode, and a carried state (stateful BPTT)."""
    torch.manual_seed(0)
    block = RecurrentBlock(5, 6, num_layers=2, cell=cell, dropout=0.3).eval()  # type: ignore[arg-type]
    x = torch.randn(2, 7, 5)
    whole, whole_state = block(x)
    state, outs = None, []
    for t in range(7):
        out, state = block(x[:, t : t + 1], state=state)
        outs.append(out)
    torch.testing.assert_close(torch.cat(outs, 1), whole, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state, whole_state, rtol=1e-5, atol=1e-6)
    first, carried = block(x[:, :3])
    rest, final = block(x[:, 3:], state=carried)
    torch.testing.assert_close(torch.cat([first, rest], 1), whole, rtol=1e-5, atol=1e-6)
    assert block.hidden(whole_state).shape == (2, 2, 6) and block.output_size == 6
    torch.testing.assert_close(block.hidden(whole_state)[-1], whole[:, -1])


@pytest.mark.parametrize("cell", ["mingru", "minlstm", "slstm", "mlstm"])
def test_a_new_cell_trains_under_bf16_autocast_and_in_int8(cell: str) -> None:
    torch.manual_seed(0)
    block = RecurrentBlock(4, 6, num_layers=2, cell=cell, bidirectional=True)  # type: ignore[arg-type]
    x, lengths = torch.randn(3, 5, 4), torch.tensor([5, 2, 4])
    expected, _ = block(x, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, state = block(x, lengths)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in block.parameters())
    assert torch.allclose(out.float(), expected, atol=0.05, rtol=0.05)  # bfloat16 projections
    wrapper = torch.nn.Sequential(block).eval()
    assert quantize_recurrent_layers(wrapper) == 4  # a projection per layer and direction
    int8, _ = block(x, lengths)
    assert torch.allclose(int8, expected, atol=0.05, rtol=0.1) and not torch.equal(int8, expected)


def test_mlstm_chunkwise_form_equals_its_recurrent_form_across_chunks() -> None:
    """Training runs the chunkwise form, sampling the recurrent one: both give the same outputs and
    memory, over several chunks and a ragged last one, with gates that make the stabiliser work."""
    torch.manual_seed(0)
    batch, heads, steps, d = 2, 3, 2 * xlstm.MLSTM_CHUNK + 7, 4
    q, k, v = (torch.randn(batch, heads, steps, d, dtype=torch.float64) for _ in range(3))
    i = 8 * torch.randn(batch, heads, steps, dtype=torch.float64)  # exp(i) up to e^30: needs m
    log_f = torch.nn.functional.logsigmoid(3 * torch.randn(batch, heads, steps, dtype=torch.float64))
    memory = (
        torch.randn(batch, heads, d, d, dtype=torch.float64),
        torch.randn(batch, heads, d, dtype=torch.float64),
        torch.randn(batch, heads, dtype=torch.float64),
    )
    chunked, chunked_memory = xlstm.mlstm_chunkwise(q, k, v, i, log_f, *memory)
    stepped, state = [], memory
    for t in range(steps):
        h, state = xlstm.mlstm_step(q[:, :, t], k[:, :, t], v[:, :, t], i[..., t], log_f[..., t], *state)
        stepped.append(h)
    torch.testing.assert_close(chunked, torch.stack(stepped, dim=2))
    for found, expected in zip(chunked_memory, state, strict=True):
        torch.testing.assert_close(found, expected)


@pytest.mark.parametrize("cell", ["slstm", "mlstm"])
def test_xlstm_cells_stay_finite_where_exponential_gates_would_overflow(cell: str) -> None:
    torch.manual_seed(0)
    block = RecurrentBlock(3, 8, cell=cell)  # type: ignore[arg-type]
    with torch.no_grad():
        for projection in block.rnn.projections:
            projection.weight.mul_(60.0)  # input gates far beyond exp's float32 range (e^88)
    out, state = block(torch.randn(2, 300, 3))
    out.pow(2).mean().backward()
    assert torch.isfinite(out).all() and torch.isfinite(state).all()
    assert all(torch.isfinite(p.grad).all() for p in block.parameters() if p.grad is not None)


def test_slstm_matches_the_papers_equations_step_by_step() -> None:
    """One sLSTM step by hand: exponential input gate, sigmoid forget gate, normaliser, heads whose
    units mix only among themselves (a block-diagonal recurrent matrix)."""
    torch.manual_seed(3)
    block = RecurrentBlock(3, 4, cell="slstm")
    cell = block.rnn
    heads, d = cell.heads, cell.head_size
    x = torch.randn(1, 1, 3)
    h0, c0, n0 = torch.randn(4), torch.randn(4), torch.rand(4) + 0.5
    state = torch.cat([h0, c0, n0, torch.zeros(4)]).view(1, 1, 16)
    out, after = block(x, state=state)
    gates = (cell.projections[0](x[0, 0])).view(heads, 4, d)
    recurrent = torch.stack([h0.view(heads, d)[j] @ cell.recurrent[0, j] for j in range(heads)]).view(
        heads, 4, d
    )
    i, f, z, o = (gates + recurrent).unbind(1)
    i, f, z, o = (part.reshape(4) for part in (i, f, z, o))
    c = torch.sigmoid(f) * c0 + torch.exp(i) * torch.tanh(z)
    n = torch.sigmoid(f) * n0 + torch.exp(i)
    torch.testing.assert_close(out[0, 0], torch.sigmoid(o) * c / n)
    m = after[0, 0, 12:]
    torch.testing.assert_close(after[0, 0, 4:8] * torch.exp(m), c)  # c and n kept scaled by exp(-m)
    torch.testing.assert_close(after[0, 0, 8:12] * torch.exp(m), n)


@pytest.mark.parametrize("cell", ["slstm", "mlstm"])
def test_a_decoder_bridge_sets_the_memory_of_an_xlstm_cell(cell: str) -> None:
    """A summary's ``c`` reaches the first step: sLSTM as its cell state, mLSTM as a first write."""
    torch.manual_seed(0)
    bridge = StateBridge(5, 8, num_layers=2, cell=cell)  # type: ignore[arg-type]
    block = RecurrentBlock(3, 8, num_layers=2, cell=cell)  # type: ignore[arg-type]
    summary = torch.randn(4, 5)
    state = bridge(summary)
    assert isinstance(state, torch.Tensor) and state.shape == (2, 4, block.rnn.state_size)
    x = torch.randn(4, 1, 3)
    with_c, _ = block(x, state=state)
    without_c = state.clone()
    without_c[..., 8:] = 0.0
    assert not torch.allclose(with_c, block(x, state=without_c)[0])

"""Shared attention and attention decoder: masking, normalisation, fast teacher forcing."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lstm_apps.core.attention import GlobalAttention
from lstm_apps.core.attention_decoder import AttentionDecoder, DecoderState, StateBridge


@pytest.mark.parametrize("kind", ["dot", "general", "concat", "additive"])
def test_weights_sum_to_one_and_ignore_padding(kind: str) -> None:
    torch.manual_seed(0)
    attention = GlobalAttention(8, 8, kind)
    memory = torch.randn(3, 5, 8)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    context, weights = attention(torch.randn(3, 4, 8), memory, mask)
    assert weights.shape == (3, 4, 5) and context.shape == (3, 4, 8)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4))
    assert torch.all(weights[~mask.unsqueeze(1).expand(-1, 4, -1)] == 0)
    torch.testing.assert_close(weights[2, :, 0], torch.ones(4))
    # Padding values cannot leak into the context.
    poisoned = memory.clone()
    poisoned[1, 2:] = 1e6
    context_poisoned, _ = attention.eval()(torch.zeros(3, 4, 8), poisoned, mask)
    context_clean, _ = attention(torch.zeros(3, 4, 8), memory, mask)
    torch.testing.assert_close(context_poisoned[1], context_clean[1])


def test_dot_attention_needs_equal_sizes() -> None:
    with pytest.raises(ValueError, match="equal sizes"):
        GlobalAttention(4, 6, "dot")


@pytest.mark.parametrize("kind", ["general", "additive"])
def test_fast_teacher_forcing_equals_step_by_step(kind: str) -> None:
    torch.manual_seed(1)
    decoder = AttentionDecoder(11, 6, 10, 12, num_layers=2, attention=kind, dropout=0.0).eval()
    bridge = StateBridge(12, 10, 2)
    memory, mask = torch.randn(3, 7, 12), torch.arange(7).unsqueeze(0) < torch.tensor([[7], [4], [2]])
    tokens, targets = torch.randint(1, 11, (3, 5)), torch.randint(1, 11, (3, 5))
    start = DecoderState(bridge(torch.randn(3, 12)), None)
    fast_logits, fast_attention, _ = decoder(tokens, memory, mask, start)
    state, slow_logits, slow_attention = start, [], []
    for t in range(5):
        logits, weights, state = decoder.step(tokens[:, t], memory, mask, state)
        slow_logits.append(logits)
        slow_attention.append(weights)
    slow = torch.stack(slow_logits, 1)
    torch.testing.assert_close(fast_logits, slow, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast_attention, torch.stack(slow_attention, 1), rtol=1e-5, atol=1e-6)
    loss_fast = F.cross_entropy(fast_logits.reshape(-1, 11), targets.reshape(-1))
    loss_slow = F.cross_entropy(slow.reshape(-1, 11), targets.reshape(-1))
    torch.testing.assert_close(loss_fast, loss_slow)


def test_input_feeding_feeds_the_attentional_vector() -> None:
    torch.manual_seed(2)
    decoder = AttentionDecoder(9, 4, 6, 6, input_feeding=True, dropout=0.0).eval()
    memory = torch.randn(2, 3, 6)
    _, _, state = decoder.step(torch.tensor([1, 2]), memory, None, DecoderState(None, None))
    assert state.feed is not None and state.feed.shape == (2, 6)
    assert decoder.rnn.input_size == 4 + 6


def test_tied_decoder_embeddings() -> None:
    decoder = AttentionDecoder(9, 4, 6, 6, tie_embeddings=True)
    assert decoder.output.weight is decoder.embedding.weight

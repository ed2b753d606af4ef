"""Sequence to sequence: a bidirectional encoder, an attention decoder and batched beam search."""

from __future__ import annotations

from typing import Any

from lstm_apps.registry import App, Bench, FormStep, Playground, ServeBench, experiment

MULTI30K = ("seq2seq", "multi30k", "multi30k")


def target_tokens(batch: Any) -> int:
    """The decoder's targets, padding (id 0) left out."""
    return int((batch["tgt_out"] != 0).sum())


APP = App(
    name="seq2seq",
    package=__name__,
    summary="BiLSTM encoder, attention decoder, batched beam search; BLEU, chrF, exact match",
    bench=Bench(
        units="target tokens",
        steps=150,
        gpu_steps=150,
        scaling_steps=100,
        scaling_units="pairs",
        count=target_tokens,
        decoders=(("greedy", {"beam_size": 1}), ("beam 5", {"beam_size": 5})),
        decode_note=" (so hypotheses end with EOS as they do in use)",
        decode_target="Target: beam 5 <= 3x greedy.",
        serve=ServeBench("bench:serve_setup", (5, 17)),  # Multi30k test2016 German: 10.9 words
    ),
    recipes=(
        experiment("seq2seq_multi30k", "test/bleu_lc", MULTI30K),
        experiment("seq2seq_multi30k_bpe", "test/bleu_lc", MULTI30K),
    ),
    example=Playground(
        (FormStep("fill", "#source", "saturday, march 3rd 2021"), FormStep("fill", "#n_best", "3")),
        "#attention",
    ),
)

"""Sequence tagging: word and character features, a BiLSTM, a CRF or softmax; span F1."""

from __future__ import annotations

from typing import Any

from lstm_apps.registry import App, Bench, FormStep, Playground, ServeBench, experiment

EXAMPLE = "El presidente de Telefónica , Juan Villalonga , viajó ayer a Barcelona para reunirse con la Generalitat ."


def operator_cases(datamodule: Any, batch_size: int) -> dict[str, Any]:
    """The batches whose training steps ``make bench`` counts operator calls of (``bench.py``)."""
    from lstm_apps.apps.tagger.bench import operator_cases as cases

    return cases(datamodule, batch_size)


APP = App(
    name="tagger",
    package=__name__,
    summary="word + character features, BiLSTM, CRF or softmax, BIO/BIOES constraints; span F1",
    bench=Bench(
        units="sentences",
        steps=150,
        gpu_steps=150,
        scaling_steps=80,
        gpu_cases=(
            (
                "CoNLL recipe model (char BiLSTM 2 x 25, BiLSTM 100, batch 10)",
                (
                    "data.batch_size=10",
                    "model.char_features=lstm",
                    "model.char_dim=25",
                    "model.hidden_size=100",
                ),
            ),
        ),
        decoders=(("argmax", {"search": "argmax"}), ("Viterbi", {"search": "model"})),
        operator_calls=operator_cases,
        operator_overrides=("model.crf_algorithm=tree",),
        operator_note=(
            "one training step of the default tagger (forward, backward, gradient clipping, AdamW) with the CRF "
            "as it runs on a GPU (`crf_algorithm=tree`), on this machine. Target: <= 270 (819 with the "
            "position-by-position CRF). On a CPU, a batch of "
            "mixed lengths runs the packed BiLSTM through ATen's step-by-step fallback, whose backward is "
            "one autograd node per operation and step (uniform lengths and cuDNN run one fused kernel)."
        ),
        serve=ServeBench("bench:serve_setup", (10, 58)),  # CoNLL-2002 Spanish testb: 34 tokens
    ),
    recipes=(experiment("tagger_conll2002_es", "test/f1", ("tagger", "conll2002_es", "conll2002")),),
    example=Playground((FormStep("fill", "#text", EXAMPLE),), "#tagged"),
)

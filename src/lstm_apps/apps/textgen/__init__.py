"""Text generation: a recurrent language model trained with stateful truncated BPTT; sampling with
temperature, top-k and top-p."""

from __future__ import annotations

from typing import Any

from lstm_apps.registry import App, Bench, FormStep, Playground, experiment


def target_tokens(batch: Any) -> int:
    """A BPTT window's targets: every position is a real token."""
    return int(batch[1].numel())


APP = App(
    name="textgen",
    package=__name__,
    summary="a recurrent language model (char or byte-level BPE) with stateful truncated BPTT",
    bench=Bench(units="target tokens", steps=20, scaling_steps=20, scaling_units="rows", count=target_tokens),
    recipes=(
        experiment(
            "textgen_shakespeare_nanogpt",
            "test/loss_blocks",
            ("textgen", "tinyshakespeare_nanogpt", "tinyshakespeare"),
        ),
    ),
    example=Playground(
        (
            FormStep("fill", "#prompt", "ROMEO:\n"),
            FormStep("fill", "#max_new_tokens", "300"),
            FormStep("fill", "#seed", "1"),
        ),
        "#output[data-done]",
    ),
)

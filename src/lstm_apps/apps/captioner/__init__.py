"""Image captioning: a CNN feature grid, the shared attention decoder and beam search."""

from __future__ import annotations

from pathlib import Path

from lstm_apps.registry import App, Bench, FormStep, Playground


def example_scene(scratch: Path) -> str:
    """A red circle and a blue square, drawn as the embedded data draws its scenes."""
    from lstm_apps.apps.captioner.scenes import Shape, draw

    image = scratch / "scene.png"
    draw([Shape("circle", "red", True, 0, 0), Shape("square", "blue", True, 2, 2)]).save(image)
    return str(image)


APP = App(
    name="captioner",
    package=__name__,
    summary="Show, Attend and Tell: CNN feature grid, attention decoder, beam search; BLEU-1..4",
    bench=Bench(
        units="images",
        steps=20,
        scaling_steps=15,
        decoders=(("greedy", {"beam_size": 1}), ("beam 3", {"beam_size": 3})),
        decode_units="images",
        decode_note=" (so hypotheses end with EOS as they do in use)",
    ),
    example=Playground(
        (FormStep("file", "#image", example_scene),),
        "#words",
        after=(FormStep("click", "#words button"),),  # the attention over the first word
    ),
)

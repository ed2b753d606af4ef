"""Speech recognition: log-mel features on the device, a convolutional front end, a BiLSTM and CTC;
greedy and prefix beam search with an n-gram LM over the units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lstm_apps.registry import App, Bench, Extra, FormStep, Playground, Recipe


def features(model: Any, batch: Any) -> Any:
    """What the network computes from the raw audio before its layers: log-mels, normalised,
    SpecAugment."""
    frames = model.net.frame_lengths(batch["audio_lengths"])
    return model.net.augment(model.net.normalise(model.net.features(batch["audio"])), frames)


def transcripts_lm(model: Any, datamodule: Any) -> Any:
    """The n-gram over the units, counted on the training transcripts as training does."""
    return model.count_transcripts(datamodule).to(model.device)


def example_clip(scratch: Path) -> str:
    """A sentence of the grammar spoken by a test voice, as a 16 kHz WAV file."""
    from lstm_apps.apps.asr.audio import resample, to_int16, write_wav
    from lstm_apps.apps.asr.espeak import Synthesiser, Voice

    synthesiser = Synthesiser()
    speech = synthesiser.speak("set a timer for ten minutes", Voice("en-us", "f3", rate=170))
    path = scratch / "example.wav"
    write_wav(path, to_int16(resample(speech / 32768.0, synthesiser.sample_rate, 16_000, "example")), 16_000)
    return str(path)


APP = App(
    name="asr",
    package=__name__,
    summary="log-mel features, conv front end, BiLSTM, CTC; prefix beam search with an n-gram LM; WER/CER",
    extras=(Extra("asr", ("soundfile", "espeakng_loader", "scipy")),),
    bench=Bench(
        units="utterances",
        steps=20,
        scaling_steps=15,
        decoders=(
            ("greedy", {"beam_size": 1}),
            ("beam 8", {"beam_size": 8}),
            ("beam 8 + LM", {"beam_size": 8, "lm": transcripts_lm}),
        ),
        decode_units="utterances",
        features=features,
    ),
    recipes=(Recipe("asr", ["app=asr"], "test/wer", extras=["asr"]),),  # its embedded corpus
    example=Playground((FormStep("file", "#audio", example_clip),), "#transcript"),
)

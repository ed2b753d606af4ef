"""Polyphonic music as piano rolls: the next frame's keys, independently or jointly; NLL per step
and frame accuracy as the JSB benchmark scores them."""

from __future__ import annotations

from lstm_apps.registry import App, Bench, Extra, FormStep, Playground, experiment

JSB = ("music", "jsb_chorales", "jsb_chorales")

APP = App(
    name="music",
    package=__name__,
    summary="piano rolls, LSTM/GRU/RNN, independent or joint (MADE) frame outputs; NLL per step",
    extras=(Extra("music", ("music21",)),),
    # The 328 training chorales make 21 batches, too short a window; in twelve keys they make 250.
    bench=Bench(units="pieces", steps=40, scaling_steps=20, data=("data.scores.transposition=augment",)),
    recipes=(experiment("music_jsb", "test/nll", JSB), experiment("music_jsb_joint", "test/nll", JSB)),
    example=Playground(
        (
            FormStep("fill", "#num_samples", "2"),
            FormStep("fill", "#length", "96"),
            FormStep("fill", "#seed", "3"),
        ),
        "#pieces",
    ),
)

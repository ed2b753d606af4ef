"""The recogniser on six short phrases said by three voices, for the tests: trains in seconds on a CPU."""

from __future__ import annotations

import json
from pathlib import Path

from lstm_apps.registry import QUIET, FormStep, Playground, Tiny

SPOKEN = ["one two", "three four", "five six", "go left", "go right", "stop now"]


def write_speech(
    folder: Path, voices: tuple[str, ...] = ("m1", "f3", "m2"), name: str = "train.jsonl"
) -> Path:
    """``SPOKEN`` said by each of ``voices`` (eSpeak NG), as 16 kHz WAV files and a JSON-lines
    manifest with paths relative to it."""
    from lstm_apps.apps.asr.audio import resample, to_int16, write_wav
    from lstm_apps.apps.asr.espeak import Synthesiser, Voice

    folder.mkdir(parents=True, exist_ok=True)
    synthesiser = Synthesiser()
    rows = []
    for variant in voices:
        for i, text in enumerate(SPOKEN):
            speech = synthesiser.speak(text, Voice("en-us", variant, rate=180))
            audio = to_int16(resample(speech / 32768.0, synthesiser.sample_rate, 16_000, "test"))
            file = f"{variant}-{i}.wav"
            write_wav(folder / file, audio, 16_000)
            rows.append(json.dumps({"audio_filepath": file, "duration": len(audio) / 16_000, "text": text}))
    manifest = folder / name
    manifest.write_text("\n".join(rows) + "\n")
    return manifest


def tiny_asr_overrides(manifest: Path) -> list[str]:
    return [
        "app=asr",
        "data/corpus=manifest_files",
        f"data.corpus.train={manifest}",
        f"data.corpus.val={manifest}",
        "data.batch_size=4",
        "data.eval_batch_size=8",
        "data.n_mels=20",
        "model.conv_channels=16",
        "model.hidden_size=16",
        "model.num_layers=1",
        "model.dropout=0.0",
        "model.test_beam_size=2",
        "optimizer.lr=0.01",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def tiny(folder: Path) -> Tiny:
    manifest = write_speech(folder / "speech")
    clip = manifest.parent / "m1-0.wav"
    return Tiny(
        tiny_asr_overrides(manifest),
        [f"input={clip}", "beam_size=2"],
        request_files={"audio": clip},
        request_form={"beam_size": "2"},
        answer_keys=frozenset({"transcript", "seconds"}),
        playground=Playground((FormStep("file", "#audio", str(clip)),), "#transcript"),
    )

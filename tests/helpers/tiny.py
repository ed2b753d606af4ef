"""``TINY``: per app, the Hydra overrides that train it in a second or two on a CPU, and the
``lstm-apps predict`` options that exercise the trained model.

Every app in ``configs/app/`` needs one entry here: ``tests/test_app_contract.py`` runs each
app through train -> checkpoint -> eval -> predict -> export, bf16 and DDP with it, and fails
for an app without one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from helpers.fixture_data import (
    handful,
    write_chorales,
    write_conll,
    write_labelled,
    write_pairs,
    write_series,
    write_speech,
    write_tiny_corpus,
)

QUIET = ["callbacks=minimal", "trainer.enable_progress_bar=false", "trainer.num_sanity_val_steps=0"]


@dataclass(frozen=True)
class Tiny:
    """One app's tiny setup, its data already written: train overrides and predict options."""

    overrides: list[str]
    predict: list[str]


def tiny_textgen_overrides(corpus: dict[str, Path]) -> list[str]:
    return [
        "app=textgen",
        "data/corpus=text_files",
        f"data.corpus.train={corpus['train']}",
        f"data.corpus.val={corpus['val']}",
        f"data.corpus.test={corpus['test']}",
        "data.batch_size=4",
        "data.eval_batch_size=2",
        "data.bptt=16",
        "model.embedding_dim=16",
        "model.hidden_size=16",
        "model.num_layers=1",
        "model.sample_tokens=8",
        "callbacks=minimal",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        "trainer.num_sanity_val_steps=0",
        "trainer.log_every_n_steps=1",
    ]


def tiny_seq2seq_overrides(tsv: Path) -> list[str]:
    return [
        "app=seq2seq",
        "data/corpus=parallel_files",
        f"data.corpus.train={tsv}",
        f"data.corpus.val={tsv}",
        "data.tokenizer=word",
        "data.batch_size=12",
        "data.eval_batch_size=32",
        "model.embedding_dim=16",
        "model.hidden_size=32",
        "model.label_smoothing=0.0",
        "model.dropout=0.0",
        "model.test_beam_size=3",
        "optimizer.lr=0.01",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def tiny_captioner_overrides(dataset: Path) -> list[str]:
    return [
        "app=captioner",
        "data/dataset=karpathy",
        f"data.dataset.json_path={dataset}",
        f"data.dataset.image_root={dataset.parent}",
        "data.batch_size=4",
        "model.encoder.channels=16",
        "model.encoder.grid_size=2",
        "model.hidden_size=16",
        "model.embedding_dim=8",
        *QUIET,
    ]


def tiny_tagger_overrides(path: Path) -> list[str]:
    return [
        "app=tagger",
        "data/corpus=conll_files",
        f"data.corpus.train={path}",
        f"data.corpus.val={path}",
        "data.batch_size=5",
        "model.word_dim=16",
        "model.char_dim=8",
        "model.char_size=16",
        "model.hidden_size=32",
        "model.dropout=0.0",
        "model.word_dropout=0.0",
        "optimizer.lr=0.02",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def tiny_classifier_overrides(path: Path) -> list[str]:
    return [
        "app=classifier",
        "data/corpus=labelled_files",
        f"data.corpus.train={path}",
        f"data.corpus.val={path}",
        "data.batch_size=6",
        "data.min_frequency=1",
        "model.embedding_dim=16",
        "model.hidden_size=16",
        "model.attention_size=8",
        "model.dropout=0.0",
        "optimizer.lr=0.02",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def tiny_forecaster_overrides(path: Path) -> list[str]:
    return [
        "app=forecaster",
        "data/series=csv_file",
        f"data.series.path={path}",
        "data.context=20",
        "data.horizon=4",
        "data.val_fraction=0.2",
        "data.test_fraction=0.2",
        "data.batch_size=16",
        "model.hidden_size=16",
        "model.num_layers=1",
        "model.dropout=0.0",
        "optimizer.lr=0.01",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


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


def tiny_music_overrides(folder: Path) -> list[str]:
    return [
        "app=music",
        "data/scores=jsb_chorales",
        f"data.scores.folder={folder}",
        "data.batch_size=4",
        "model.output=joint",
        "model.hidden_size=16",
        "model.num_layers=1",
        "model.input_size=8",
        "model.joint_units=16",
        "model.dropout=0.0",
        "model.log_samples=1",
        "model.sample_steps=4",
        "optimizer.lr=0.01",
        "scheduler=none",
        *QUIET,
        "trainer.log_every_n_steps=1",
    ]


def _textgen(folder: Path) -> Tiny:
    return Tiny(tiny_textgen_overrides(write_tiny_corpus(folder)), ["prompt=the cat", "max_new_tokens=8"])


def _seq2seq(folder: Path) -> Tiny:
    return Tiny(tiny_seq2seq_overrides(write_pairs(folder)), ["input=one two", "beam_size=2", "n_best=2"])


def _captioner(folder: Path) -> Tiny:
    dataset = handful(folder / "data")
    return Tiny(tiny_captioner_overrides(dataset), [f"image={dataset.parent / '1.png'}", "beam_size=2"])


def _tagger(folder: Path) -> Tiny:
    return Tiny(tiny_tagger_overrides(write_conll(folder, repeat=4)), ["text=John lives in Berlin ."])


def _classifier(folder: Path) -> Tiny:
    return Tiny(tiny_classifier_overrides(write_labelled(folder / "data")), ["text=the striker scored"])


def _forecaster(folder: Path) -> Tiny:
    series = write_series(folder / "data", 200)
    return Tiny(tiny_forecaster_overrides(series), [f"input_file={series}"])


def _music(folder: Path) -> Tiny:
    scores = write_chorales(folder / "chorales")
    return Tiny(
        tiny_music_overrides(scores), ["num_samples=2", "length=6", f"output_dir={folder / 'samples'}"]
    )


def _asr(folder: Path) -> Tiny:
    manifest = write_speech(folder / "speech")
    return Tiny(tiny_asr_overrides(manifest), [f"input={manifest.parent / 'm1-0.wav'}", "beam_size=2"])


# app name -> writes the app's tiny data under a folder and returns its Tiny setup
TINY: dict[str, Callable[[Path], Tiny]] = {
    "textgen": _textgen,
    "seq2seq": _seq2seq,
    "captioner": _captioner,
    "tagger": _tagger,
    "classifier": _classifier,
    "forecaster": _forecaster,
    "asr": _asr,
    "music": _music,
}


def missing_entry_message(app: str) -> str:
    """What to do when ``configs/app/<app>.yaml`` exists but ``TINY`` has no entry for it."""
    return (
        f"app {app!r} (configs/app/{app}.yaml) has no entry in TINY: add one to tests/helpers/tiny.py, "
        f"a function that writes tiny data under a folder and returns Tiny(overrides, predict) with the "
        f"Hydra overrides that train {app} in a second or two on a CPU and the `lstm-apps predict` "
        f"options that use the trained model"
    )


def tiny_setup(app: str, folder: Path) -> Tiny:
    """``TINY[app](folder)``, or a failure that says which entry to add."""
    if app not in TINY:
        raise LookupError(missing_entry_message(app))
    return TINY[app](folder)


def tiny_overrides(app: str, folder: Path) -> list[str]:
    """The app's tiny train overrides, its data written under ``folder``."""
    return tiny_setup(app, folder).overrides

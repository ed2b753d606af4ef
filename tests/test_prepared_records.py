"""Seq2seq, tagger and classifier data: encoded once into a store of columns, memory-mapped after,
reused by later runs and by checkpoints, rebuilt when broken, shared by every rank."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.running import run_cli_with_probe
from lstm_apps.apps.classifier.datamodule import TextClassificationDataModule
from lstm_apps.apps.classifier.labelled_text import LabelledTextFiles
from lstm_apps.apps.classifier.tiny import EXAMPLES, write_labelled
from lstm_apps.apps.seq2seq.datamodule import ParallelDataModule
from lstm_apps.apps.seq2seq.parallel import ParallelFiles
from lstm_apps.apps.seq2seq.tiny import PAIRS, write_pairs
from lstm_apps.apps.tagger.conll import ConllFiles
from lstm_apps.apps.tagger.datamodule import TaggingDataModule
from lstm_apps.apps.tagger.tiny import SENTENCES, tiny_tagger_overrides, write_conll
from lstm_apps.data.prepared.store import open_store, problem
from lstm_apps.errors import UserError
from lstm_apps.pipeline.prepared_records import PreparedRecordsDataModule


def _seq2seq(data: Path, store: Path, **settings) -> ParallelDataModule:
    path = write_pairs(data, repeat=3) if not (data / "pairs.tsv").exists() else data / "pairs.tsv"
    return ParallelDataModule(
        ParallelFiles(str(path), str(path)),
        batch_size=4,
        prepared_dir=str(store),
        **{"tokenizer": "word", **settings},
    )


def _tagger(data: Path, store: Path, **settings) -> TaggingDataModule:
    path = write_conll(data, repeat=3) if not (data / "train.txt").exists() else data / "train.txt"
    return TaggingDataModule(
        ConllFiles(str(path), str(path)), batch_size=4, prepared_dir=str(store), **settings
    )


def _classifier(data: Path, store: Path, **settings) -> TextClassificationDataModule:
    path = write_labelled(data) if not (data / "train.csv").exists() else data / "train.csv"
    return TextClassificationDataModule(
        LabelledTextFiles(str(path), str(path)), batch_size=4, prepared_dir=str(store), **settings
    )


APPS: dict[str, Callable[..., PreparedRecordsDataModule]] = {
    "seq2seq": _seq2seq,
    "tagger": _tagger,
    "classifier": _classifier,
}
# A setting of each app that changes its ids (so must change the store's key).
CHANGED = {"seq2seq": {"tokenizer": "char"}, "tagger": {"scheme": "iob2"}, "classifier": {"lowercase": False}}


def _prepared(module: PreparedRecordsDataModule) -> PreparedRecordsDataModule:
    module.prepare_data()
    module.setup("fit")
    return module


def _batches(module: PreparedRecordsDataModule) -> list[dict[str, torch.Tensor]]:
    return list(module.val_dataloader())


def _refuse(*args, **kwargs):
    raise AssertionError("the corpus was read again")


def _refuse_reading(monkeypatch: pytest.MonkeyPatch, source: object) -> None:
    """Make any read of ``source`` (streamed or whole) fail the test."""
    monkeypatch.setattr(type(source), "load", _refuse)
    monkeypatch.setattr(type(source), "records", _refuse)


def _store_bytes(directory: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(directory.glob("*.bin"))}


@pytest.mark.parametrize("app", APPS)
def test_a_prepared_corpus_is_memory_mapped_and_reused_without_reading_it(
    tmp_path: Path, app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _prepared(APPS[app](tmp_path / "data", tmp_path / "store"))
    directory = first.store_directory()
    assert problem(directory) is None and not directory.is_symlink()
    mapped = [split.ids for split in open_store(directory).splits.values() if split.ids.size]
    assert mapped and all(isinstance(ids, np.memmap) for ids in mapped)
    mtimes = {f.name: f.stat().st_mtime_ns for f in directory.iterdir()}

    again = APPS[app](tmp_path / "data", tmp_path / "store")
    _refuse_reading(monkeypatch, again.source)
    _prepared(again)
    assert again.store_directory() == directory
    assert {f.name: f.stat().st_mtime_ns for f in directory.iterdir()} == mtimes
    assert again.fitted_state() == first.fitted_state() and again.handoff() == first.handoff()
    for old, new in zip(_batches(first), _batches(again), strict=True):
        assert old.keys() == new.keys() and all(torch.equal(old[k], new[k]) for k in old)


@pytest.mark.parametrize("app", APPS)
def test_changed_settings_or_files_make_a_new_store(tmp_path: Path, app: str) -> None:
    base = _prepared(APPS[app](tmp_path / "data", tmp_path / "store")).store_directory()
    changed = _prepared(APPS[app](tmp_path / "data", tmp_path / "store", **CHANGED[app])).store_directory()
    assert changed != base and problem(changed) is None
    (file,) = [p for p in (tmp_path / "data").iterdir() if p.is_file()]
    with file.open("a", encoding="utf-8") as out:
        out.write(file.read_text().splitlines(keepends=True)[-2] if app != "tagger" else "Extra O\n\n")
    assert APPS[app](tmp_path / "data", tmp_path / "store").store_directory() != base


@pytest.mark.parametrize("app", APPS)
def test_a_checkpoints_vocabularies_find_the_store_they_were_fitted_with(
    tmp_path: Path, app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained = _prepared(APPS[app](tmp_path / "data", tmp_path / "store"))
    resumed = APPS[app](tmp_path / "data", tmp_path / "store")
    resumed.load_fitted_state(trained.fitted_state())
    assert resumed.store_directory().resolve() == trained.store_directory().resolve()
    _refuse_reading(monkeypatch, resumed.source)
    resumed.setup("test")  # eval: no prepare_data, a single process
    assert resumed.fitted_state() == trained.fitted_state()


@pytest.mark.parametrize("app", APPS)
def test_a_truncated_column_is_rebuilt_or_named(tmp_path: Path, app: str) -> None:
    module = _prepared(APPS[app](tmp_path / "data", tmp_path / "store"))
    directory = module.store_directory()
    expected = _batches(module)
    victim = max(directory.glob("val.*.ids.bin"), key=lambda f: f.stat().st_size)
    victim.write_bytes(victim.read_bytes()[:-1])
    with pytest.raises(UserError, match=rf"{victim.name} has .* bytes, its manifest says"):
        open_store(directory)
    rebuilt = _prepared(APPS[app](tmp_path / "data", tmp_path / "store"))
    assert problem(directory) is None
    for old, new in zip(expected, _batches(rebuilt), strict=True):
        assert all(torch.equal(old[k], new[k]) for k in old)


def test_texts_people_read_come_back_from_the_store(tmp_path: Path) -> None:
    seq2seq = _prepared(_seq2seq(tmp_path / "s", tmp_path / "store"))
    assert list(seq2seq.references("val")) == [t for _, t in PAIRS] * 3
    assert seq2seq.example_input("test", 1) == PAIRS[1][0]
    tagger = _prepared(_tagger(tmp_path / "t", tmp_path / "store", scheme="iob2"))
    assert tagger.example_input("val", 2) == SENTENCES[2][0].split()
    assert list(tagger.references("val"))[: len(SENTENCES)] == [tags.split() for _, tags in SENTENCES]
    classifier = _prepared(_classifier(tmp_path / "c", tmp_path / "store"))
    labels = classifier.encoded["val"].labels.ids.tolist()
    assert [classifier.handoff()["labels"][i] for i in labels] == [y for _, y in EXAMPLES] * 4


def test_training_pairs_over_the_length_limits_are_left_out_of_the_store(tmp_path: Path) -> None:
    module = _prepared(_seq2seq(tmp_path / "data", tmp_path / "store", max_source_len=2))
    kept = [s for s, _ in PAIRS if len(s.split()) <= 2]
    sources, targets = module.encoded["train"]
    assert len(sources) == len(targets) == 3 * len(kept)
    assert len(module.encoded["val"][0]) == 3 * len(PAIRS), "evaluation keeps every pair"


def test_a_source_without_an_identity_is_one_line(tmp_path: Path) -> None:
    class Anonymous:
        def load(self):
            return {}

    module = TaggingDataModule(Anonymous(), prepared_dir=str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(UserError, match=r"data\.corpus: Anonymous has no identity\(\)"):
        module.prepare_data()


@pytest.mark.slow
def test_two_ddp_ranks_prepare_once_and_read_disjoint_sentences(tmp_path: Path) -> None:
    probe = (
        "import os, lightning as L, torch\n"
        "class Probe(L.Callback):\n"
        "    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):\n"
        "        with open(f'{os.environ[\"PROBE_DIR\"]}/rank{trainer.global_rank}.txt', 'a') as out:\n"
        "            out.write(' '.join(map(str, batch['index'].tolist())) + '\\n')\n"
    )
    overrides = [
        *tiny_tagger_overrides(write_conll(tmp_path / "conll", repeat=4)),
        "trainer=ddp_cpu",
        "trainer.max_epochs=1",
        "test_after_fit=false",
        "+callbacks.probe._target_=probe.Probe",
    ]
    done = run_cli_with_probe(["train", *overrides], tmp_path, probe)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("[lstm-apps] prepared") == 1, "one process encoded, the other waited"
    stores = [p for p in (tmp_path / "data" / "prepared" / "tagger").iterdir() if not p.is_symlink()]
    assert len(stores) == 1
    seen = [{int(i) for i in (tmp_path / f"rank{r}.txt").read_text().split()} for r in (0, 1)]
    assert seen[0] and seen[1] and not seen[0] & seen[1]


def test_a_checkpoint_tagging_in_another_scheme_is_one_line_before_reading(tmp_path: Path) -> None:
    trained = _prepared(_tagger(tmp_path / "data", tmp_path / "store", scheme="bioes"))
    other = _tagger(tmp_path / "data", tmp_path / "store", scheme="iob2")
    other.load_fitted_state(trained.fitted_state())
    with pytest.raises(UserError, match=r"data\.scheme: the checkpoint's model tags in bioes, not iob2"):
        other.setup("test")


@pytest.mark.parametrize("app", APPS)
def test_preparing_streams_the_source_a_chunk_at_a_time(
    tmp_path: Path, app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _prepared(APPS[app](tmp_path / "data", tmp_path / "whole"))
    module = APPS[app](tmp_path / "data", tmp_path / "chunked")
    monkeypatch.setattr(type(module), "chunk_records", 3)
    monkeypatch.setattr(type(module.source), "load", _refuse)  # never the whole corpus at once
    sizes: list[int] = []
    encode = module.encode_records
    monkeypatch.setattr(
        module, "encode_records", lambda split, part: sizes.append(len(part)) or encode(split, part)
    )
    _prepared(module)
    assert max(sizes) == 3 and len(sizes) > 3
    assert _store_bytes(module.store_directory()) == _store_bytes(whole.store_directory())
    for old, new in zip(_batches(whole), _batches(module), strict=True):
        assert all(torch.equal(old[k], new[k]) for k in old)


def test_a_source_with_only_load_is_prepared_from_memory(tmp_path: Path) -> None:
    streamed = _prepared(_seq2seq(tmp_path / "data", tmp_path / "streamed"))
    files = streamed.source

    class Loaded:
        def identity(self):
            return files.identity()

        def load(self):
            return files.load()

    module = ParallelDataModule(
        Loaded(), tokenizer="word", batch_size=4, prepared_dir=str(tmp_path / "loaded")
    )  # type: ignore[arg-type]
    _prepared(module)
    assert _store_bytes(module.store_directory()) == _store_bytes(streamed.store_directory())


@pytest.mark.parametrize("app", APPS)
def test_a_bad_line_is_named_and_leaves_no_store_or_temp_files(tmp_path: Path, app: str) -> None:
    module = APPS[app](tmp_path / "data", tmp_path / "store")
    (file,) = [p for p in (tmp_path / "data").iterdir() if p.is_file()]
    lines = file.read_text().splitlines(keepends=True)
    bad = {"seq2seq": "one\ttwo\tthree\n", "tagger": "word extra O\n", "classifier": "a,b,c\n"}[app]
    file.write_text("".join(lines[:4]) + bad + "".join(lines[4:]))
    with pytest.raises(UserError, match=rf"{file.name}:5: "):
        module.prepare_data()
    leftovers = [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert leftovers == [], leftovers


def test_a_bad_line_met_while_writing_removes_the_partial_columns(tmp_path: Path) -> None:
    train = write_pairs(tmp_path / "data", repeat=3)
    val = tmp_path / "data" / "val.tsv"
    val.write_text(train.read_text() + "no tab here\n")
    module = ParallelDataModule(
        ParallelFiles(str(train), str(val)), tokenizer="word", prepared_dir=str(tmp_path / "store")
    )
    with pytest.raises(UserError, match=rf"val\.tsv:{3 * len(PAIRS) + 1}: expected 2 tab-separated"):
        module.prepare_data()  # the train split's columns were being written when val failed
    assert [p.name for p in (tmp_path / "store").rglob("*") if p.is_file()] == []

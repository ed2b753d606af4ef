"""The prepared token store: written once, reused, keyed by inputs and tokenizer, rebuilt when broken."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.running import run_cli_with_probe
from lstm_apps.apps.textgen.corpus import TextFiles
from lstm_apps.apps.textgen.datamodule import TextStreamDataModule
from lstm_apps.apps.textgen.tiny import tiny_textgen_overrides
from lstm_apps.data.prepared.sequence_arrays import SequenceArrays
from lstm_apps.data.prepared.store import ColumnWriter, Positions, open_store, problem, write_store
from lstm_apps.errors import UserError
from lstm_apps.text.chunked import encode_chunks, read_chunks, read_lines, train_char
from lstm_apps.text.tokenizer import CharTokenizer, train_tokenizer


def _module(corpus: dict[str, Path], store: Path, **settings) -> TextStreamDataModule:
    files = TextFiles(str(corpus["train"]), str(corpus["val"]), str(corpus["test"]))
    return TextStreamDataModule(
        files, batch_size=2, eval_batch_size=2, bptt=8, prepared_dir=str(store), **settings
    )


def _prepared(dm: TextStreamDataModule) -> TextStreamDataModule:
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_sequences_and_offsets_round_trip_in_the_narrowest_dtype(tmp_path: Path) -> None:
    sequences = [[1, 2, 3], [], [70_000, 4]]
    write_store(tmp_path / "wide", {"train": sequences}, 70_001, "{}", key="k", offsets=True)
    store = open_store(tmp_path / "wide")
    split = store.splits["train"]
    assert split.ids.dtype == np.uint32 and len(split) == 3
    assert [split.sequence(i).tolist() for i in range(3)] == sequences
    write_store(tmp_path / "narrow", {"train": [[5, 6]]}, 100, "{}", key="k")
    assert open_store(tmp_path / "narrow").splits["train"].ids.dtype == np.uint16


def test_columns_written_in_chunks_read_back_as_if_written_at_once(tmp_path: Path) -> None:
    chunks = [[[1, 2], [3]], [[], [4, 5, 6]], [[7]]]
    with ColumnWriter(tmp_path / "store") as writer:
        for chunk in chunks:
            lengths = [len(s) for s in chunk]
            writer.append(
                {
                    "train.ids": SequenceArrays.from_lists(chunk, 10),
                    "train.starts": Positions(np.concatenate([[0], np.cumsum(lengths)])),
                    "train.count": np.array([len(chunk)], dtype=np.int32),
                }
            )
        writer.finish("k", {"vocab": "{}"})
    store = open_store(tmp_path / "store")
    everything = [s for chunk in chunks for s in chunk]
    ids = store.splits["train.ids"].arrays()
    assert [ids[i].tolist() for i in range(len(ids))] == everything
    assert store.splits["train.starts"].ids.tolist() == ids.offsets.tolist()
    assert store.splits["train.count"].ids.tolist() == [2, 2, 1]
    assert store.fitted == {"vocab": "{}"}


def test_a_writer_left_early_leaves_nothing_and_wrong_chunks_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside uint8"), ColumnWriter(tmp_path / "store") as writer:
        writer.append({"c": np.array([1, 2], dtype=np.uint8)})
        writer.append({"c": np.array([300])})
    assert list((tmp_path / "store").iterdir()) == []
    with (
        pytest.raises(TypeError, match="a chunk of ndarray after SequenceArrays"),
        ColumnWriter(tmp_path / "s") as w,
    ):
        w.append({"c": SequenceArrays.from_lists([[1]], 10)})
        w.append({"c": np.array([1])})


def test_lines_are_read_one_at_a_time_across_chunks(tmp_path: Path) -> None:
    file = tmp_path / "t.txt"
    file.write_bytes("a\r\nbé\n\nlast".encode())
    assert list(read_lines(file, "k")) == ["a", "bé", "", "last"]
    assert list(read_lines(file, "k", keepends=True)) == ["a\n", "bé\n", "\n", "last"]


def test_chunked_char_path_matches_the_tokenizer(tmp_path: Path) -> None:
    text = "héllo wörld\nline two ✓\n" * 50 + "no newline at the end"
    file = tmp_path / "t.txt"
    file.write_text(text, encoding="utf-8")
    chunks = list(read_chunks(file, "k", size=7))
    assert "".join(chunks) == text and all(c.endswith("\n") for c in chunks[:-1])
    tok = train_char(read_chunks(file, "k"))
    assert tok.symbols == train_tokenizer("char", [text]).symbols
    unseen = CharTokenizer.from_symbols(["h", "l"])
    ids = np.concatenate(list(encode_chunks(unseen, read_chunks(file, "k", size=5))))
    assert ids.tolist() == unseen.encode(text), "unknown characters map to <unk>"


@pytest.mark.parametrize("problem_kind", ["empty", "binary"])
def test_bad_files_are_one_line_naming_key_and_file(tmp_path: Path, problem_kind: str) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"  \n" if problem_kind == "empty" else b"ok\n\xff\xfe\x00bad")
    with pytest.raises(UserError, match=r"data\.corpus\.train.*bad\.txt"):
        list(read_chunks(bad, "data.corpus.train"))


def test_a_prepared_corpus_is_reused_without_tokenizing(
    tmp_path: Path, tiny_corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _prepared(_module(tiny_corpus, tmp_path))
    directory = first.store_directory()
    mtimes = {f.name: f.stat().st_mtime_ns for f in directory.iterdir()}

    def refuse(*args, **kwargs):
        raise AssertionError("tokenized again")

    monkeypatch.setattr("lstm_apps.apps.textgen.prepared_stream.encode_chunks", refuse)
    monkeypatch.setattr("lstm_apps.apps.textgen.prepared_stream.train_streaming", refuse)
    second = _prepared(_module(tiny_corpus, tmp_path))
    assert second.store_directory() == directory
    assert {f.name: f.stat().st_mtime_ns for f in directory.iterdir()} == mtimes
    assert isinstance(second.ids["train"], np.memmap) and second.ids["train"].dtype == np.uint16
    assert not [f for f in directory.iterdir() if f.name.endswith(".tmp")]


def test_changed_settings_or_files_make_a_new_store(tmp_path: Path, tiny_corpus: dict[str, Path]) -> None:
    char = _prepared(_module(tiny_corpus, tmp_path)).store_directory()
    bpe = _prepared(_module(tiny_corpus, tmp_path, tokenizer="bpe", vocab_size=300)).store_directory()
    assert bpe != char and problem(bpe) is None
    with tiny_corpus["train"].open("a", encoding="utf-8") as out:
        out.write("more text\n")
    assert _module(tiny_corpus, tmp_path).store_directory() != char


@pytest.mark.parametrize("damage", ["truncate", "manifest"])
def test_a_broken_store_is_rebuilt_or_named(
    tmp_path: Path, tiny_corpus: dict[str, Path], damage: str
) -> None:
    dm = _prepared(_module(tiny_corpus, tmp_path))
    directory = dm.store_directory()
    expected = np.array(dm.ids["train"])
    broken = directory / ("train.ids.bin" if damage == "truncate" else "manifest.json")
    if damage == "truncate":
        broken.write_bytes(broken.read_bytes()[:-6])
    else:
        broken.unlink()
    with pytest.raises(UserError, match=broken.name):
        open_store(directory)
    rebuilt = _prepared(_module(tiny_corpus, tmp_path))
    assert np.array_equal(rebuilt.ids["train"], expected)


def test_eval_with_a_fitted_tokenizer_prepares_its_own_store(
    tmp_path: Path, tiny_corpus: dict[str, Path]
) -> None:
    trained = _prepared(_module(tiny_corpus, tmp_path))
    again = _module(tiny_corpus, tmp_path, tokenizer="bpe")
    again.load_fitted_state(trained.fitted_state())
    again.setup("test")  # no prepare_data: a single process prepares in setup
    assert again.tokenizer.to_json() == trained.tokenizer.to_json()
    assert np.array_equal(again.ids["test"], trained.ids["test"])


def test_windows_are_int64_copies_of_narrow_rows(tmp_path: Path, tiny_corpus: dict[str, Path]) -> None:
    dm = _prepared(_module(tiny_corpus, tmp_path))
    x, y = next(iter(dm.train_dataloader()))
    assert x.dtype == torch.long and x.shape == (2, 8) and torch.equal(x[:, 1:], y[:, :-1])


@pytest.mark.slow
def test_two_ddp_ranks_read_disjoint_rows_of_one_prepared_corpus(tmp_path: Path) -> None:
    from lstm_apps.apps.textgen.tiny import write_tiny_corpus

    corpus = write_tiny_corpus(tmp_path / "text")
    probe = (
        "import os, lightning as L, torch\n"
        "class Probe(L.Callback):\n"
        "    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):\n"
        "        if batch_idx == 0:\n"
        "            torch.save(batch[0], f'{os.environ[\"PROBE_DIR\"]}/rank{trainer.global_rank}.pt')\n"
    )
    overrides = [
        *tiny_textgen_overrides(corpus),
        "trainer=ddp_cpu",
        "trainer.max_steps=1",
        "test_after_fit=false",
        "callbacks.early_stopping=null",
        "+callbacks.probe._target_=probe.Probe",
    ]
    done = run_cli_with_probe(["train", *overrides], tmp_path, probe)
    assert done.returncode == 0, done.stderr[-3000:]
    (store,) = [p for p in (tmp_path / "data" / "prepared" / "textgen").iterdir() if not p.is_symlink()]
    ids = torch.from_numpy(open_store(store).splits["train"].ids.astype(np.int64))
    rows = ids[: 8 * (len(ids) // 8)].view(8, -1)  # batch_size 4 x 2 ranks
    first, second = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert torch.equal(first, rows[:4, : first.size(1)]) and torch.equal(second, rows[4:, : second.size(1)])

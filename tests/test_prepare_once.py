"""Generated corpora are written in ``prepare_data()`` only, whole, whoever generates them at once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from lstm_apps.apps.captioner.sources import ScenesDataset
from lstm_apps.apps.seq2seq.parallel import DateCorpus
from lstm_apps.apps.tagger.datamodule import TaggingDataModule
from lstm_apps.apps.tagger.ner_corpus import GeneratedNerCorpus
from lstm_apps.errors import UserError


def _ner(folder: Path) -> GeneratedNerCorpus:
    return GeneratedNerCorpus(str(folder), train_size=400, val_size=60, test_size=60)


def _prepare_after(folder: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()  # both processes find the corpus missing and generate it together
    _ner(Path(folder)).prepare()


def _listing(folder: Path) -> dict[str, int]:
    """Every path under ``folder`` with its modification time (ns)."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def test_two_processes_preparing_at_once_both_succeed_and_leave_one_whole_copy(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [context.Process(target=_prepare_after, args=(str(tmp_path), barrier)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    files = _ner(tmp_path).files()
    (published,) = [p for p in tmp_path.iterdir()]
    assert published == files["train"].parent and not published.name.startswith("."), "no leftovers"
    assert sorted(p.name for p in published.iterdir()) == ["test.txt", "train.txt", "val.txt"]
    reference = _ner(tmp_path / "reference")
    reference.prepare()
    for split, path in files.items():
        assert path.read_text() == reference.files()[split].read_text(), f"{split} is whole"


def test_setup_after_prepare_data_writes_nothing(tmp_path: Path) -> None:
    data = TaggingDataModule(_ner(tmp_path / "data"), batch_size=4, prepared_dir=str(tmp_path / "prepared"))
    data.prepare_data()
    before = _listing(tmp_path)
    assert before, "prepare_data() generated the corpus"
    data.setup("fit")
    assert _listing(tmp_path) == before


@pytest.mark.parametrize(
    "source",
    [
        lambda folder: DateCorpus(str(folder), train_size=30, val_size=5, test_size=5),
        lambda folder: ScenesDataset(str(folder), train_size=3, val_size=1, test_size=1),
    ],
)
def test_generated_sources_publish_once_and_load_only_reads(tmp_path: Path, source) -> None:  # type: ignore[no-untyped-def]
    corpus = source(tmp_path)
    corpus.prepare()
    before = _listing(tmp_path)
    assert not [name for name in before if name.startswith(".")], "no private build folder left"
    corpus.prepare()
    corpus.load()
    assert _listing(tmp_path) == before


def test_an_incomplete_folder_from_an_older_run_is_named(tmp_path: Path) -> None:
    corpus = _ner(tmp_path)
    corpus.files()["train"].parent.mkdir(parents=True)
    corpus.files()["train"].write_text("-DOCSTART- O\n\n")  # val and test never written
    with pytest.raises(UserError, match="incomplete generated data"):
        corpus.prepare()


def _timed_prepare(folder: str, log: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    import time

    from lstm_apps.data.prepared.lock import prepare_once

    def prepare() -> None:
        start = time.monotonic()
        time.sleep(0.3)
        with open(log, "a") as out:
            out.write(f"{start} {time.monotonic()}\n")

    barrier.wait()
    prepare_once(folder, prepare)


def test_processes_of_one_job_prepare_one_at_a_time(tmp_path: Path) -> None:
    """What every rank runs before the Trainer exists: never two preparations at once."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    log = tmp_path / "log.txt"
    args = (str(tmp_path / "data"), str(log), barrier)
    workers = [context.Process(target=_timed_prepare, args=args) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    spans = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines())
    assert len(spans) == 3
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))

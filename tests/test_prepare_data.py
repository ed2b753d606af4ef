"""The public-corpus preparations (``lstm_apps.apps.<app>.prepare``), run offline against fixture
files in the real formats, and the ``apps/<app>/prepare_data.py`` scripts that wrap them."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import lstm_apps.apps.captioner.prepare as prepare_captioner
import lstm_apps.apps.classifier.prepare as prepare_classifier
import lstm_apps.apps.forecaster.prepare as prepare_forecaster
import lstm_apps.apps.seq2seq.prepare as prepare_seq2seq
import lstm_apps.apps.tagger.prepare as prepare_tagger
import lstm_apps.apps.textgen.prepare as prepare_textgen
from lstm_apps.apps.tagger.conll import ConllFiles
from lstm_apps.apps.textgen.corpus import TextFiles
from lstm_apps.data.download import fetch
from lstm_apps.errors import UserError

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "textgen"


def load_script(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tinyshakespeare_is_split_contiguously(tmp_path: Path) -> None:
    written = prepare_textgen.prepare("tinyshakespeare", tmp_path, (FIXTURES / "tinyshakespeare").as_uri())
    source = (FIXTURES / "tinyshakespeare" / "input.txt").read_text()
    parts = [written[s].read_text() for s in ("train", "val", "test")]
    assert "".join(parts) == source
    assert len(parts[0]) > 10 * len(parts[1]) > 0
    loaded = TextFiles(str(written["train"]), str(written["val"]), str(written["test"])).load()
    assert loaded["test"] == parts[2]


def test_tinyshakespeare_nanogpt_split_cuts_at_90_percent_of_the_characters(tmp_path: Path) -> None:
    mirror = (FIXTURES / "tinyshakespeare").as_uri()
    written = prepare_textgen.prepare("tinyshakespeare_nanogpt", tmp_path, mirror)
    source = (FIXTURES / "tinyshakespeare" / "input.txt").read_text()
    cut = int(len(source) * 0.9)  # nanoGPT: data[:int(n * 0.9)], data[int(n * 0.9):]
    assert written["train"].read_text() == source[:cut]
    assert written["val"].read_text() == written["test"].read_text() == source[cut:]
    assert written["train"].parent.name == "tinyshakespeare_nanogpt"


def test_each_shakespeare_recipe_reads_its_split(tmp_path: Path) -> None:
    from helpers.config import compose_config
    from lstm_apps.pipeline.run_name import register

    register()
    for recipe, folder in (("", "tinyshakespeare"), ("_nanogpt", "tinyshakespeare_nanogpt")):
        cfg = compose_config("train", [f"experiment=textgen_shakespeare{recipe}"])
        assert Path(cfg.data.corpus.val).parent.name == folder
        assert (cfg.model.hidden_size, cfg.data.bptt) == (512, 256), "the same recipe otherwise"


def test_wikitext2_keeps_its_three_files(tmp_path: Path) -> None:
    written = prepare_textgen.prepare("wikitext2", tmp_path, (FIXTURES / "wikitext2").as_uri())
    assert written["val"].read_text() == (FIXTURES / "wikitext2" / "valid.txt").read_text()
    assert "<unk>" in written["train"].read_text()


def test_download_failure_is_one_line_and_leaves_no_partial_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="could not download"):
        fetch((tmp_path / "missing.txt").as_uri(), tmp_path / "out" / "x.txt")
    assert not list((tmp_path / "out").glob("*"))


def test_unknown_corpus_name(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="available"):
        prepare_textgen.prepare("ptb", tmp_path)


@pytest.mark.parametrize("app", ["textgen", "seq2seq", "captioner", "tagger", "classifier", "music"])
def test_each_checkout_script_offers_its_apps_data_sets(app: str) -> None:
    script = load_script(REPO / "apps" / app / "prepare_data.py")
    package = importlib.import_module(f"lstm_apps.apps.{app}.prepare")
    with pytest.raises(SystemExit):
        script.main(["--help"])
    assert script.prepare is package.prepare and list(script.DATASETS) == list(package.DATASETS)


def test_checkout_script_prepares_from_a_mirror_and_fails_in_one_line(tmp_path: Path) -> None:
    script = REPO / "apps" / "textgen" / "prepare_data.py"
    mirror = (FIXTURES / "tinyshakespeare").as_uri()
    done = subprocess.run(
        [sys.executable, str(script), "tinyshakespeare", "--out", str(tmp_path), "--base-url", mirror],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "tinyshakespeare" / "train.txt").is_file()
    failed = subprocess.run(
        [
            sys.executable,
            str(script),
            "tinyshakespeare",
            "--out",
            str(tmp_path),
            "--base-url",
            "file:///nope",
        ],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 2
    assert failed.stderr.strip().count("\n") == 0 and "could not download" in failed.stderr


def test_multi30k_lands_in_the_aligned_layout_the_reader_takes(tmp_path: Path) -> None:
    from lstm_apps.apps.seq2seq.parallel import ParallelFiles

    fixtures = REPO / "tests" / "fixtures" / "seq2seq" / "multi30k"
    written = prepare_seq2seq.prepare("multi30k", tmp_path, fixtures.as_uri())
    assert set(written) == {
        f"{s}.{lang}" for s in ("train", "val", "test_2016_flickr") for lang in ("de", "en")
    }
    root = tmp_path / "multi30k"
    splits = ParallelFiles(
        str(root / "train"),
        str(root / "val"),
        str(root / "test_2016_flickr"),
        format="aligned",
        src_lang="de",
        tgt_lang="en",
    ).load()
    assert len(splits["train"]) == 12
    assert splits["val"][1] == ("Ein Hund läuft durch den Schnee.", "A dog runs through the snow.")


def test_multi30k_rejects_a_corrupt_archive(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for split in ("train", "val", "test_2016_flickr"):
        for lang in ("de", "en"):
            (mirror / f"{split}.{lang}.gz").write_bytes(b"not gzip")
    with pytest.raises(UserError, match="not a gzipped UTF-8 text file"):
        prepare_seq2seq.prepare("multi30k", tmp_path / "out", mirror.as_uri())


def test_flickr8k_is_arranged_for_the_karpathy_reader(tmp_path: Path) -> None:
    import json
    import zipfile

    from PIL import Image

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    dataset = {"images": [{"filename": "a.jpg", "split": "train", "sentences": [{"tokens": ["a", "dog"]}]}]}
    with zipfile.ZipFile(mirror / "caption_datasets.zip", "w") as bundle:
        bundle.writestr("dataset_flickr8k.json", json.dumps(dataset))
        bundle.writestr("dataset_coco.json", "{}")
    with zipfile.ZipFile(mirror / "Flickr8k_Dataset.zip", "w") as bundle:
        bundle.write(tmp_path / "a.jpg", "Flicker8k_Dataset/a.jpg")
    written = prepare_captioner.prepare("flickr8k", tmp_path / "out", mirror.as_uri())
    assert written["dataset"].name == "dataset_flickr8k.json"
    assert not (tmp_path / "out" / "flickr8k" / "dataset_coco.json").exists()
    from lstm_apps.apps.captioner.captions import read_karpathy

    assert read_karpathy(written["dataset"], written["images"])["train"][0][1] == ["a dog"]
    (mirror / "Flickr8k_Dataset.zip").write_bytes(b"broken")
    with pytest.raises(UserError, match="not a zip archive"):
        prepare_captioner.prepare("flickr8k", tmp_path / "again", mirror.as_uri())


TAGGER_FIXTURES = REPO / "tests" / "fixtures" / "tagger"


def test_conll2003_is_arranged_for_the_conll_reader_with_iob1_converted(tmp_path: Path) -> None:
    written = prepare_tagger.prepare("conll2003", tmp_path, (TAGGER_FIXTURES / "conll2003").as_uri())
    assert sorted(written) == ["test", "train", "val"]
    assert written["val"].read_text() == (TAGGER_FIXTURES / "conll2003" / "eng.testa").read_text()
    splits = ConllFiles(
        str(written["train"]), str(written["val"]), str(written["test"]), scheme="iob1"
    ).load()
    assert splits["train"][0].tags == ["B-ORG", "O", "B-MISC", "O", "O"]
    assert splits["test"][0].tokens == ["SOCCER", "-", "JAPAN", "GET"]


def test_conll2002_is_unzipped_and_converted_from_latin1(tmp_path: Path) -> None:
    written = prepare_tagger.prepare("conll2002_es", tmp_path, (TAGGER_FIXTURES / "conll2002").as_uri())
    splits = ConllFiles(str(written["train"]), str(written["val"]), str(written["test"])).load()
    assert splits["train"][1].tokens == ["La", "Asociación"] and splits["test"][0].tokens == ["España"]
    dutch = prepare_tagger.prepare("conll2002_nl", tmp_path, (TAGGER_FIXTURES / "conll2002").as_uri())
    assert ConllFiles(str(dutch["train"]), str(dutch["val"])).load()["train"][0].tokens == ["De", "tekst"]


def test_conll2002_rejects_a_corrupt_archive(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "conll2002.zip").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not the expected zip archive"):
        prepare_tagger.prepare("conll2002_es", tmp_path / "out", mirror.as_uri())


def test_sst2_zip_is_arranged_with_dev_as_test_and_a_held_out_val(tmp_path: Path) -> None:
    import zipfile

    from lstm_apps.apps.classifier.labelled_text import LabelledTextFiles

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    train = "sentence\tlabel\n" + "".join(
        f"a {'fine' if i % 2 else 'dull'} film number {i} \t{i % 2}\n" for i in range(40)
    )
    with zipfile.ZipFile(mirror / "SST-2.zip", "w") as bundle:
        bundle.writestr("SST-2/train.tsv", train)
        bundle.writestr("SST-2/dev.tsv", 'sentence\tlabel\nit \'s "great" \t1\nawful \t0\n')
        bundle.writestr("SST-2/test.tsv", "index\tsentence\n0\tunlabelled\n")
    written = prepare_classifier.prepare("sst2", tmp_path / "out", mirror.as_uri())
    splits = LabelledTextFiles(str(written["train"]), str(written["val"]), str(written["test"])).load()
    assert (len(splits["train"]), len(splits["val"])) == (32, 8)
    assert [(e.text, e.labels) for e in splits["test"]] == [
        ('it \'s "great"', ["positive"]),
        ("awful", ["negative"]),
    ]
    assert not {e.text for e in splits["val"]} & {e.text for e in splits["train"]}
    (mirror / "SST-2.zip").write_bytes(b"broken")
    with pytest.raises(UserError, match="not the expected zip archive"):
        prepare_classifier.prepare("sst2", tmp_path / "again", mirror.as_uri())


def test_imdb_tarball_is_arranged_as_jsonl(tmp_path: Path) -> None:
    import io
    import tarfile

    from lstm_apps.apps.classifier.labelled_text import LabelledTextFiles

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "aclImdb_v1.tar.gz", "w:gz") as bundle:
        for split in ("train", "test"):
            for polarity in ("pos", "neg"):
                for i in range(10):
                    data = f'A "{polarity}"\treview {i}.<br />Second line.'.encode()
                    info = tarfile.TarInfo(f"aclImdb/{split}/{polarity}/{i}_7.txt")
                    info.size = len(data)
                    bundle.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("aclImdb/train/unsup/0_0.txt")
        info.size = 1
        bundle.addfile(info, io.BytesIO(b"x"))
    written = prepare_classifier.prepare("imdb", tmp_path / "out", mirror.as_uri())
    splits = LabelledTextFiles(str(written["train"]), str(written["val"]), str(written["test"])).load()
    assert [len(splits[s]) for s in ("train", "val", "test")] == [18, 2, 20]
    assert splits["test"][0].text == 'A "neg"\treview 0.\nSecond line.' and splits["test"][0].labels == [
        "negative"
    ]
    (mirror / "aclImdb_v1.tar.gz").write_bytes(b"broken")
    with pytest.raises(UserError, match="not the expected tar.gz archive"):
        prepare_classifier.prepare("imdb", tmp_path / "again", mirror.as_uri())


def test_forecaster_series_is_written_as_the_csv_the_config_reads(tmp_path: Path) -> None:
    from lstm_apps.apps.forecaster.time_series import read_series_csv

    written = prepare_forecaster.prepare("sunspots", tmp_path)
    assert written["series"] == tmp_path / "sunspots.csv"
    series = read_series_csv(written["series"], "sunspots", "year", ["sunactivity"])
    assert len(series.values) == 309  # 1700-2008
    with pytest.raises(UserError, match="nothing to download"):
        prepare_forecaster.prepare("co2", tmp_path, "file:///mirror")


def test_sst2_validation_is_held_out_by_sentence_with_its_phrases(tmp_path: Path) -> None:
    import zipfile

    from lstm_apps.apps.classifier.labelled_text import LabelledTextFiles

    sentences = [f"the {'fine' if i % 2 else 'dull'} film number {i} ends well" for i in range(30)]
    rows = []
    for i, sentence in enumerate(sentences):  # GLUE's layout: each sentence, then phrases of it
        words = sentence.split()
        rows += [sentence, " ".join(words[1:4]), " ".join(words[3:5]), words[1]]
        rows += [f"film number {i}"]
    train = "sentence\tlabel\n" + "".join(f"{r} \t{i % 2}\n" for i, r in enumerate(rows))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with zipfile.ZipFile(mirror / "SST-2.zip", "w") as bundle:
        bundle.writestr("SST-2/train.tsv", train)
        bundle.writestr("SST-2/dev.tsv", "sentence\tlabel\nawful \t0\ngreat \t1\n")
    written = prepare_classifier.prepare("sst2", tmp_path / "out", mirror.as_uri())
    splits = LabelledTextFiles(str(written["train"]), str(written["val"]), str(written["test"])).load()
    held = [e.text for e in splits["val"]]
    assert len(held) == 6 and set(held) <= set(sentences), "whole sentences only, a fifth of them"
    trained = {e.text for e in splits["train"]}
    assert not any(f" {t} " in f" {s} " for t in trained for s in held), "no phrase of a held-out sentence"
    assert set(sentences) - set(held) <= trained, "the other sentences stay"
    kept = [f"film number {i}" for i, s in enumerate(sentences) if s not in held]
    assert set(kept) <= trained, "and so do their own phrases"

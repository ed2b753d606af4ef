"""The public-corpus preparations (``lstm_apps.apps.<app>.prepare``), run offline against fixture
files in the real formats, and the ``apps/<app>/prepare_data.py`` scripts that wrap them."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import lstm_apps.apps.textgen.prepare as prepare_textgen
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


# The checkout scripts (apps/<app>/prepare_data.py), one per app that prepares public data.
SCRIPTS = sorted(p.parent.name for p in (REPO / "apps").glob("*/prepare_data.py"))


def test_the_apps_that_prepare_data_have_checkout_scripts() -> None:
    assert len(SCRIPTS) >= 6


@pytest.mark.parametrize("app", SCRIPTS)
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

"""``lstm-apps prepare``: every app's data sets found by module convention, one-line mistakes,
and a real preparation from a ``file://`` mirror through the console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lstm_apps.apps.preparation import app_names, catalogue, preparation
from lstm_apps.cli.main import main as lstm_apps_main
from lstm_apps.registry import apps

REPO = Path(__file__).resolve().parents[1]
APPS = list(apps())


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The console script as a user runs it, in a fresh process."""
    code = "import sys; from lstm_apps.cli.main import main; sys.argv[0] = 'lstm-apps'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd)


def test_every_app_package_is_found_with_its_data_sets() -> None:
    packages = sorted(p.parent.name for p in (REPO / "src/lstm_apps/apps").glob("*/__init__.py"))
    assert app_names() == APPS == packages
    found = catalogue()
    assert sorted(found) == [app for app in APPS if (REPO / f"src/lstm_apps/apps/{app}/prepare.py").is_file()]
    assert set(found["seq2seq"]) == {"multi30k"}
    for app in found:
        assert callable(preparation(app).prepare) and set(found[app]) == set(preparation(app).DATASETS)
    assert preparation("nope") is None


def test_help_lists_apps_and_their_data_sets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        lstm_apps_main(["prepare", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for app, names in catalogue().items():
        assert f"  {app}\n" in out
        assert all(f"    {name} " in out for name in names)
    assert "--base-url" in out and "--out-dir" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "name an app and a data set"),
        (
            ["textgen"],
            "name a data set for textgen (available: tinyshakespeare, tinyshakespeare_nanogpt, wikitext2)",
        ),
        (
            ["textgen", "ptb"],
            "unknown data set 'ptb' for textgen (available: tinyshakespeare, tinyshakespeare_nanogpt, wikitext2)",
        ),
        (
            ["texgen", "ptb"],
            "unknown app 'texgen' (available: asr: librispeech_100; captioner: coco, flickr8k; ",
        ),
        (["textgen", "wikitext2", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        lstm_apps_main(["prepare", *args])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("lstm-apps: error: ")
    assert expected in captured.err


def test_listing_names_every_app_with_data_sets(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        lstm_apps_main(["prepare"])
    err = capsys.readouterr().err
    assert all(f"{app}: " in err for app in APPS)
    assert "seq2seq: multi30k" in err


def test_prepares_multi30k_from_a_file_mirror(tmp_path: Path) -> None:
    mirror = (REPO / "tests" / "fixtures" / "seq2seq" / "multi30k").as_uri()
    done = run("prepare", "seq2seq", "multi30k", "--base-url", mirror, "--out-dir", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert f"train.de: {tmp_path / 'out' / 'multi30k' / 'train.de'} (" in done.stdout
    english = (tmp_path / "out" / "multi30k" / "val.en").read_text(encoding="utf-8").splitlines()
    assert english[1] == "A dog runs through the snow."


def test_default_out_dir_is_where_the_recipes_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LSTM_APPS_ROOT", str(tmp_path))
    mirror = (REPO / "tests" / "fixtures" / "textgen" / "wikitext2").as_uri()
    done = run("prepare", "textgen", "wikitext2", "--base-url", mirror)
    assert done.returncode == 0, done.stderr
    # configs/experiment/textgen_wikitext2.yaml reads ${paths.data_dir}/textgen/wikitext2/*.txt
    assert sorted(p.name for p in (tmp_path / "data" / "textgen" / "wikitext2").glob("*.txt")) == [
        "test.txt",
        "train.txt",
        "val.txt",
    ]


def test_a_failed_download_is_one_line(tmp_path: Path) -> None:
    done = run(
        "prepare",
        "seq2seq",
        "multi30k",
        "--base-url",
        (tmp_path / "none").as_uri(),
        "--out-dir",
        str(tmp_path / "out"),
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("lstm-apps: error: could not download")

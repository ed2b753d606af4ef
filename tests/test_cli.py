"""The real command line, end to end, in child processes: train -> eval -> predict, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers.fixture_data import app_checkpoint
from helpers.running import run_cli, run_in_process
from lstm_apps.apps.textgen.tiny import tiny_textgen_overrides, write_tiny_corpus
from lstm_apps.paths import available_apps


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``lstm-apps train`` once in a scratch folder; returns (folder, last checkpoint)."""
    work = tmp_path_factory.mktemp("cli")
    corpus = write_tiny_corpus(work)
    result = run_cli(["train", *tiny_textgen_overrides(corpus), "trainer.max_epochs=2"], cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "run directory:" in result.stdout
        and "tensorboard:" in result.stdout
        and "checkpoints:" in result.stdout
    )
    runs = list((work / "runs" / "textgen").iterdir())
    assert len(runs) == 1, "one run directory per run"
    first_epoch = [ln for ln in (runs[0] / "train.log").read_text().splitlines() if "epoch 0 (" in ln]
    assert first_epoch and "val/ppl=" in first_epoch[0], "the epoch log line shows that epoch's validation"
    assert "train/loss_epoch=" in first_epoch[0], "and the epoch means the module logs at its end"
    return work, runs[0] / "checkpoints" / "last.ckpt"


@pytest.mark.slow
def test_train_writes_a_self_contained_checkpoint(cli_run: tuple[Path, Path]) -> None:
    _, ckpt = cli_run
    payload = torch.load(ckpt, weights_only=True)
    assert payload["lstm_apps"]["app"] == "textgen"
    assert payload["lstm_apps"]["config"]["model"]["hidden_size"] == 16


@pytest.mark.slow
def test_eval_and_predict_need_only_the_checkpoint(cli_run: tuple[Path, Path], tmp_path: Path) -> None:
    _, ckpt = cli_run
    moved = tmp_path / "elsewhere.ckpt"
    moved.write_bytes(ckpt.read_bytes())
    # eval in this process, predict in a child: each needs only the moved checkpoint.
    evaluated = run_in_process(
        ["eval", f"ckpt_path={moved}", "trainer.enable_progress_bar=false"], cwd=tmp_path
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "test/ppl=" in evaluated.stdout
    predicted = run_cli(
        ["predict", f"ckpt_path={moved}", "prompt=the cat", "max_new_tokens=20", "temperature=0.8", "seed=0"],
        cwd=tmp_path,
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert predicted.stdout.startswith("the cat") and len(predicted.stdout.strip()) > len("the cat")
    assert not (tmp_path / "runs" / "predict").exists(), "predict leaves no run directory"


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "app=nosuch"], f"unknown app 'nosuch' (available: {', '.join(available_apps())})"),
        (["train", "trainer.max_epoch=3"], "unknown config key 'max_epoch'"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["predict"], "missing value for ckpt_path"),
        (["predict", "ckpt_path=/no/such/file.ckpt"], "ckpt_path: file not found: /no/such/file.ckpt"),
        (
            [
                "train",
                "data/corpus=text_files",
                "data.corpus.train=/no/train.txt",
                "data.corpus.val=/no/val.txt",
            ],
            "data.corpus.train: file not found: /no/train.txt",
        ),
        (["train", "data.bptt=many"], "data.bptt=many is not an integer (an integer >= 1)"),
    ],
)
def test_bad_input_gives_one_line_naming_the_culprit(args: list[str], message: str, tmp_path: Path) -> None:
    # A child process for a mistake found before torch is imported and for one found by a data
    # source; the others in this process (same command line, same output, no start-up to pay).
    in_child = args[0] == "frobnicate" or "data.corpus.train=/no/train.txt" in args
    result = run_cli(args, cwd=tmp_path) if in_child else run_in_process(args, cwd=tmp_path)
    assert result.returncode != 0
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("lstm-apps: error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_checkpoint_problems_are_named(cli_run: tuple[Path, Path], tmp_path: Path) -> None:
    _, ckpt = cli_run
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"this is not a checkpoint")
    foreign = tmp_path / "foreign.ckpt"
    payload = torch.load(ckpt, weights_only=True)
    payload["lstm_apps"]["app"] = "tagger"
    torch.save(payload, foreign)
    empty_corpus = tmp_path / "empty.txt"
    empty_corpus.write_text("")
    cases = [
        (["predict", f"ckpt_path={junk}"], f"{junk} is not a readable checkpoint"),
        (
            ["eval", f"ckpt_path={foreign}", "expected_app=textgen"],
            "was trained by app 'tagger', not 'textgen'",
        ),
        (
            [
                "train",
                "data/corpus=text_files",
                f"data.corpus.train={empty_corpus}",
                f"data.corpus.val={empty_corpus}",
            ],
            f"data.corpus.train: file is empty: {empty_corpus}",
        ),
    ]
    for args, message in cases:  # in this process: the child-process path is covered above
        result = run_in_process(args, cwd=tmp_path)
        assert result.returncode != 0
        assert "lstm-apps: error: " in result.stderr and message in result.stderr, result.stderr[-2000:]
        assert "Traceback" not in result.stderr


def test_output_folders_that_cannot_be_made_are_named(tmp_path: Path) -> None:
    ckpt = app_checkpoint(tmp_path, "tagger")  # the folders are checked before any model is built
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where a folder would have to be")
    cases = [
        (
            ["train", "debug=fast", f"hydra.run.dir={blocker}/run"],
            f"hydra.run.dir: cannot create the folder {blocker}/run",
        ),
        (
            ["train", "-m", "debug=fast", f"hydra.sweep.dir={blocker}/sweep"],
            f"hydra.sweep.dir: cannot create the folder {blocker}/sweep",
        ),
        (
            ["predict", f"ckpt_path={ckpt}", "text=a b", f"output_file={blocker}/out/x.txt"],
            f"output_file: cannot create the folder {blocker}/out",
        ),
        (
            ["export", f"ckpt_path={ckpt}", "format=torchscript", f"output_dir={blocker}/export"],
            f"output_dir: cannot create the folder {blocker}/export",
        ),
        (
            ["prepare", "textgen", "tinyshakespeare", "--out-dir", f"{blocker}/data"],
            f"--out-dir: cannot create the folder {blocker}/data",
        ),
    ]
    for args, message in cases:
        result = run_in_process(args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr[-2000:])
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("lstm-apps: error:")]
        assert len(errors) == 1 and message in errors[0], (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr
    assert blocker.read_text().startswith("a file"), "nothing was written over the file"

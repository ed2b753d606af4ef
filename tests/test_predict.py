"""``lstm-apps predict``: the predictor chosen by the checkpoint's app, its options, batched runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import yaml

from helpers.fixture_data import app_checkpoint
from lstm_apps.apps.tagger.conll import ConllFiles
from lstm_apps.apps.tagger.datamodule import TaggingDataModule
from lstm_apps.apps.tagger.model import TaggerModel
from lstm_apps.apps.tagger.predictor import TaggerOptions, TaggerPredictor
from lstm_apps.cli.main import main
from lstm_apps.errors import UserError
from lstm_apps.paths import available_apps, config_dir
from lstm_apps.pipeline.checkpoint import read_checkpoint
from lstm_apps.pipeline.predictor import Predictor, predictor_for, read_options


@pytest.mark.parametrize("app", available_apps())
def test_each_app_has_its_predictor_and_its_options_file_agrees(app: str) -> None:
    predictor = predictor_for(app)
    assert issubclass(predictor, Predictor) and predictor.__module__ == f"lstm_apps.apps.{app}.predictor"
    defaults = {f.name: f.default for f in dataclasses.fields(predictor.options_type)}
    assert yaml.safe_load((config_dir() / "predict" / f"{app}.yaml").read_text()) == defaults


def test_an_app_without_a_predictor_is_one_line() -> None:
    with pytest.raises(UserError, match=r"^unknown app 'nosuchapp' \(available: .*tagger"):
        predictor_for("nosuchapp")


def test_an_option_of_another_app_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    ckpt = app_checkpoint(tmp_path, "tagger")
    with pytest.raises(SystemExit) as stopped:
        main(["predict", f"ckpt_path={ckpt}", "prompt=The"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "lstm-apps: error: unknown predict option 'prompt' for app 'tagger' "
        "(available: text, input_file, input_format, output_file, batch_size)"
    ]


def test_a_value_of_the_wrong_type_names_the_option() -> None:
    with pytest.raises(UserError, match=r"^beam_size=wide is not an integer \(an integer >= 1\)$"):
        read_options("seq2seq", {"ckpt_path": "x", "input": "a b", "beam_size": "wide"})
    with pytest.raises(UserError, match=r"^input=3 is not allowed \(a text, or null\)$"):
        read_options("seq2seq", {"ckpt_path": "x", "input": 3})
    options = read_options("seq2seq", {"ckpt_path": "x", "input": "a b", "beam_size": 3})
    assert options.beam_size == 3 and options.n_best == 1


def test_checkpoints_that_call_the_handoff_model_kwargs_still_read(tmp_path: Path) -> None:
    assert read_checkpoint(app_checkpoint(tmp_path, "seq2seq", "model_kwargs")).handoff == {"vocab_size": 7}


def test_a_file_through_trainer_predict_tags_as_each_text_alone(tmp_path: Path) -> None:
    torch.manual_seed(0)
    conll = tmp_path / "train.txt"
    conll.write_text(
        "John B-PER\nlives O\nin O\nBerlin B-LOC\n. O\n\nMary B-PER\nworks O\nfor O\nAcme B-ORG\n\n"
    )
    dm = TaggingDataModule(
        ConllFiles(str(conll), str(conll)),
        scheme="iob2",
        batch_size=2,
        prepared_dir=str(tmp_path / "prepared"),
    )
    dm.setup("fit")
    model = TaggerModel(**dm.handoff(), word_dim=8, char_dim=4, char_size=8, hidden_size=8).eval()
    model.bind_fitted_state(dm.fitted_state())
    lines = ["John lives in Paris .", "Mary works for Acme in Berlin on Monday .", "John"]
    text_file = tmp_path / "texts.txt"
    text_file.write_text("\n".join(lines) + "\n")
    options = TaggerOptions(input_file=str(text_file), input_format="text", batch_size=2)
    tagged_file = TaggerPredictor(model, options).predict().text
    per_sentence = [block.splitlines() for block in tagged_file.strip().split("\n\n")]
    alone = [
        TaggerPredictor(model, TaggerOptions(text=line)).predict().text.splitlines()[0] for line in lines
    ]
    assert [" ".join("/".join(row.split()) for row in rows) for rows in per_sentence] == alone
    assert len({token.split("/")[1] for line in alone for token in line.split()}) > 1, "not all one tag"


def test_predict_options_are_checked_against_the_apps_declared_ranges() -> None:
    with pytest.raises(UserError, match=r"beam_size=0 is out of range"):
        read_options("seq2seq", {"beam_size": 0})
    with pytest.raises(UserError, match=r"n_best=0 is out of range"):
        read_options("seq2seq", {"n_best": 0})
    assert read_options("seq2seq", {"beam_size": 3}).beam_size == 3


def test_a_config_folder_flag_keeps_the_overrides_in_one_run(tmp_path: Path) -> None:
    """``--config-dir conf`` (a user's own app) before or between the options: Hydra's parser takes
    the overrides only as one run, after its flags."""
    from lstm_apps.cli.predict import with_app_options

    ckpt = app_checkpoint(tmp_path, "tagger")
    args = [f"ckpt_path={ckpt}", "--config-dir", "conf", "text=a b"]
    assert with_app_options(args) == [
        "--config-dir",
        "conf",
        "predict=tagger",
        f"ckpt_path={ckpt}",
        "text=a b",
    ]

"""The tagger app: char features, learning a tiny corpus exactly, and the CLI end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from helpers.config import compose_config
from helpers.fixture_data import SENTENCES, write_conll
from helpers.running import run_in_process
from helpers.tiny import tiny_tagger_overrides
from lstm_apps.apps.tagger.conll import ConllFiles
from lstm_apps.apps.tagger.datamodule import TaggingDataModule
from lstm_apps.apps.tagger.model import TaggerModel
from lstm_apps.apps.tagger.predictor import TaggerOptions, TaggerPredictor
from lstm_apps.apps.tagger.tag_schemes import is_legal
from lstm_apps.cli.predict import with_app_options
from lstm_apps.core.char_features import CharFeatures, distinct_word_chars
from lstm_apps.pipeline.predict import predict
from lstm_apps.pipeline.train import train


@pytest.mark.parametrize("kind", ["cnn", "lstm"])
def test_char_features_ignore_padding(kind: str) -> None:
    torch.manual_seed(0)
    features = CharFeatures(20, 8, 12, kind).eval()  # type: ignore[arg-type]
    alone_chars, alone_lengths, _ = distinct_word_chars([[[3, 4, 5]]], 1)
    chars, lengths, _ = distinct_word_chars([[list(range(1, 8))], [[6], [7, 8], [3, 4, 5]]], 3)
    assert chars.shape == (4, 7), "padded to the longest distinct word"
    out = features(chars, lengths)
    assert out.shape == (4, 12)
    assert torch.allclose(out[3], features(alone_chars, alone_lengths)[0], atol=1e-6)


def test_each_distinct_word_of_a_batch_is_encoded_once() -> None:
    sentences = [[[1, 2], [3], [1, 2]], [[3], [4, 5, 6]], [[1, 2]]]
    chars, lengths, slots = distinct_word_chars(sentences, 3)
    assert chars.tolist() == [[1, 2, 0], [3, 0, 0], [4, 5, 6]]
    assert lengths.tolist() == [2, 1, 3]
    assert slots[0].tolist() == [0, 1, 0] and slots[1, :2].tolist() == [1, 2] and slots[2, 0] == 0
    # Every word slot gathers the row of its own word.
    for sentence, words in enumerate(sentences):
        for position, word in enumerate(words):
            row = int(slots[sentence, position])
            assert chars[row, : int(lengths[row])].tolist() == word


def _datamodule(tmp_path: Path, scheme: str = "bioes") -> TaggingDataModule:
    path = write_conll(tmp_path)
    dm = TaggingDataModule(
        ConllFiles(str(path), str(path)), scheme=scheme, batch_size=5, prepared_dir=str(tmp_path / "prepared")
    )
    dm.setup("fit")
    return dm


@pytest.mark.parametrize(("output", "char_features"), [("crf", "cnn"), ("softmax", "lstm")])
def test_overfits_a_tiny_corpus_to_exact_tags(tmp_path: Path, output: str, char_features: str) -> None:
    torch.manual_seed(0)
    dm = _datamodule(tmp_path)
    model = TaggerModel(
        **dm.handoff(),
        word_dim=16,
        char_dim=8,
        char_size=16,
        char_features=char_features,
        hidden_size=32,
        dropout=0.0,
        word_dropout=0.0,
        output=output,
    )
    model.bind_fitted_state(dm.fitted_state())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    batch = next(iter(dm.train_dataloader()))
    for _ in range(80):
        loss = model.loss(model(batch), batch["tags"], model.mask(batch))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    tagged = TaggerPredictor(model.eval(), TaggerOptions()).tag([s.split() for s, _ in SENTENCES])
    assert tagged == list(dm.references("train"))
    assert "S-PER" in tagged[0] and "E-ORG" in tagged[1], "trained in the BIOES scheme"


def test_softmax_output_respects_constraints_when_asked(tmp_path: Path) -> None:
    torch.manual_seed(0)
    dm = _datamodule(tmp_path, scheme="iob2")
    kwargs = {**dm.handoff(), "output": "softmax", "word_dim": 8, "char_size": 8, "hidden_size": 8}
    constrained, free = TaggerModel(**kwargs, constrained=True), TaggerModel(**kwargs, constrained=False)
    free.load_state_dict(constrained.state_dict(), strict=False)
    emissions = torch.randn(200, 6, len(constrained.tags)) * 4
    mask = torch.ones(200, 6, dtype=torch.bool)
    names = lambda ids: [[constrained.tags[i] for i in row] for row in ids.tolist()]  # noqa: E731
    assert all(is_legal(s, "iob2") for s in names(constrained.decode(emissions, mask)))
    assert not all(is_legal(s, "iob2") for s in names(free.decode(emissions, mask)))


def test_word_vectors_initialise_a_new_model(tmp_path: Path) -> None:
    dm = _datamodule(tmp_path)
    vectors = tmp_path / "glove.txt"
    vectors.write_text("berlin 1 1 1 1\njohn 2 2 2 2\n")
    model = TaggerModel(**dm.handoff(), word_dim=4, word_vectors=str(vectors))
    model.bind_fitted_state(dm.fitted_state())
    model.load_pretrained()
    row = dm.vocab.words.token_id("Berlin")
    assert model.net.word_embedding.weight[row].tolist() == [1.0] * 4


@pytest.mark.slow
def test_train_predict_eval_end_to_end(tmp_path: Path) -> None:
    path = write_conll(tmp_path, repeat=10)
    cfg = compose_config("train", tiny_tagger_overrides(path) + ["trainer.max_epochs=12"], tmp_path / "run")
    metrics = train(cfg)
    assert metrics["test/f1"] == 1.0 and metrics["test/accuracy"] == 1.0
    assert {"test/f1_PER", "test/f1_LOC", "test/f1_ORG", "test/f1_DATE", "val/precision"} <= set(metrics)
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert {"samples/tagged/text_summary", "test/report/text_summary"} <= set(events.Tags()["tensors"])
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"

    printed = predict(
        compose_config(
            "predict", with_app_options([f"ckpt_path={ckpt}", "text=Mary Smith works for Acme Corp."])
        )
    )
    lines = printed.splitlines()
    assert lines[0] == "Mary/B-PER Smith/E-PER works/O for/O Acme/B-ORG Corp./E-ORG"
    assert lines[1:] == ["PER\tMary Smith\t0-10", "ORG\tAcme Corp.\t21-31"]

    unlabeled = tmp_path / "plain.txt"
    unlabeled.write_text("John lives in Berlin .\n\nJordan visited Jordan on Monday .\n")
    written = tmp_path / "tagged.conll"
    result = run_in_process(
        ["predict", f"ckpt_path={ckpt}", f"input_file={unlabeled}", f"output_file={written}"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert written.read_text() == (
        "John S-PER\nlives O\nin O\nBerlin S-LOC\n. O\n\n"
        "Jordan S-PER\nvisited O\nJordan S-LOC\non O\nMonday S-DATE\n. O\n\n"
    )
    conll_in = run_in_process(["predict", f"ckpt_path={ckpt}", f"input_file={path}"], cwd=tmp_path)
    rows = [line.split() for line in conll_in.stdout.splitlines() if line.strip()]
    assert len(rows) == 10 * sum(len(s.split()) for s, _ in SENTENCES)
    assert rows[0] == ["John", "B-PER", "S-PER"], "the input's columns, then the predicted tag"

    evaluated = run_in_process(
        ["eval", f"ckpt_path={ckpt}", "trainer.enable_progress_bar=false"], cwd=tmp_path
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert (
        "test/f1=1.0000" in evaluated.stdout
        and "| **micro avg** | 100.00 | 100.00 | 100.00 | 120 |" in evaluated.stdout
    )


def test_malformed_conll_stops_the_cli_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("John B-PER\nlives O extra\n")
    result = run_in_process(
        [
            "train",
            "app=tagger",
            "data/corpus=conll_files",
            f"data.corpus.train={bad}",
            f"data.corpus.val={bad}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert f"lstm-apps: error: {bad}:2: expected 2 columns" in result.stderr

"""The tagger app: char features, learning a tiny corpus exactly, and the CLI end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lstm_apps.apps.tagger.prepare as prepare_tagger
from helpers.config import compose_config
from helpers.running import run_in_process
from helpers.serving import (
    browser_or_skip,
    check_info,
    open_playground,
    predictor_of,
    served,
    submit_and_wait,
    trained,
)
from lstm_apps.apps.preparation import datasets
from lstm_apps.apps.tagger.conll import ConllFiles
from lstm_apps.apps.tagger.datamodule import TaggingDataModule
from lstm_apps.apps.tagger.model import TaggerModel
from lstm_apps.apps.tagger.predictor import TaggerOptions, TaggerPredictor
from lstm_apps.apps.tagger.tag_schemes import is_legal
from lstm_apps.apps.tagger.tiny import SENTENCES, tiny_tagger_overrides, write_conll
from lstm_apps.cli.predict import with_app_options
from lstm_apps.config_ranges import check_options
from lstm_apps.core.char_features import CharFeatures, distinct_word_chars
from lstm_apps.errors import UserError
from lstm_apps.pipeline.predict import predict
from lstm_apps.pipeline.predictor import predictor_for
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


# -------------------------------------------------------------------------------- served over HTTP
@pytest.mark.slow
@pytest.mark.serves("tagger")
def test_tagger_answers_entities_with_character_offsets(tmp_path: Path) -> None:
    ckpt, _ = trained("tagger")
    text = "John lives in Berlin ."
    with served("tagger") as server:
        check_info(server, "tagger", ckpt)
        answer = server.post("/predict", json={"text": text}).json()
        tags = predictor_of(ckpt).tag([text.split()])[0]
        assert [t["tag"] for t in answer["tokens"]] == tags
        assert [(t["text"], text[t["start"] : t["end"]]) for t in answer["tokens"]] == [
            (w, w) for w in text.split()
        ]
        assert answer["entities"] and all(
            text[e["start"] : e["end"]] == e["text"] for e in answer["entities"]
        )
        assert server.post("/predict", json={"text": ""}).status_code == 422
        assert server.post("/predict", json={"txt": text}).json()["detail"].startswith("text: Field required")

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By

            open_playground(driver, server, "tagger")
            driver.find_element(By.ID, "text").send_keys(text)
            tagged = submit_and_wait(driver, "tagged")
            assert tagged.text.replace("\n", " ").startswith("John")
            marks = driver.find_elements(By.CSS_SELECTOR, "mark.entity")
            assert [m.get_attribute("data-type") for m in marks] == [e["type"] for e in answer["entities"]]
        finally:
            driver.quit()


def test_a_predict_input_format_it_does_not_read_is_refused_in_one_line() -> None:
    with pytest.raises(UserError, match=r"^input_format=csv is not one of auto, conll, text$"):
        check_options(predictor_for("tagger").options_type, {"input_format": "csv"})


def test_prepare_offers_the_conll_corpora() -> None:
    assert set(datasets("tagger")) == {"conll2003", "conll2002_es", "conll2002_nl"}


# -------------------------------------------------------------------------------- public data sets (lstm-apps prepare)
TAGGER_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tagger"


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

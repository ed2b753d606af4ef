"""Text classifier: readers, pooling, the embedded corpus, training to a perfect fit, CLI."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

import lstm_apps.apps.classifier.prepare as prepare_classifier
from helpers.config import compose_config
from helpers.running import run_in_process
from helpers.serving import (
    JSON,
    Server,
    browser_or_skip,
    check_info,
    open_playground,
    openapi_fields,
    predictor_of,
    served,
    still_serves,
    submit_and_wait,
    trained,
)
from lstm_apps.apps.classifier.datamodule import TextClassificationDataModule
from lstm_apps.apps.classifier.labelled_text import LabelledTextFiles, read_labelled_texts
from lstm_apps.apps.classifier.model import ClassifierModel, per_label_table
from lstm_apps.apps.classifier.predictor import ClassifierOptions, ClassifierPredictor
from lstm_apps.apps.classifier.stdlib_docstrings import StdlibDocstrings
from lstm_apps.apps.classifier.tiny import EXAMPLES, tiny_classifier_overrides, write_labelled
from lstm_apps.cli.predict import with_app_options
from lstm_apps.core.pooling import SequencePooling
from lstm_apps.core.recurrent import RecurrentBlock
from lstm_apps.errors import UserError
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.predict import predict
from lstm_apps.pipeline.train import train


# -- readers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl"])
def test_reader_reads_every_format_alike(tmp_path: Path, fmt: str) -> None:
    examples = read_labelled_texts(write_labelled(tmp_path, 1, fmt), "data")
    assert [(e.text, e.labels) for e in examples] == [(t, [y]) for t, y in EXAMPLES]
    assert examples[1].where.endswith(f"train.{fmt}:{2 if fmt == 'jsonl' else 3}")


def test_reader_splits_multi_labels_and_reads_json_lists(tmp_path: Path) -> None:
    csv_file = tmp_path / "m.csv"
    csv_file.write_text('text,tags\n"a, b",x|y\nc,z\n')
    assert [e.labels for e in read_labelled_texts(csv_file, "d", "text", "tags", label_separator="|")] == [
        ["x", "y"],
        ["z"],
    ]
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text('{"text": "a", "label": ["x", "y"]}\n{"text": "b", "label": 3}\n')
    assert [e.labels for e in read_labelled_texts(jsonl, "d")] == [["x", "y"], ["3"]]


@pytest.mark.parametrize(
    "name,content,columns,message",
    [
        (
            "a.csv",
            "text,label\nfine,x\n",
            ("body", "label"),
            "a.csv:2: no column 'body' (found: text, label)",
        ),
        (
            "a.csv",
            "text,label\nfine,x\nbad,x,extra\n",
            ("text", "label"),
            "a.csv:3: 3 CSV columns, the header has 2",
        ),
        ("a.tsv", "text\tlabel\n\tx\n", ("text", "label"), "a.tsv:2: column 'text' is empty"),
        (
            "a.jsonl",
            '{"text": "ok", "label": "x"}\n{"text": "ok"\n',
            ("text", "label"),
            "a.jsonl:2: not valid JSON",
        ),
        ("a.jsonl", '{"text": "ok"}\n', ("text", "label"), "a.jsonl:1: no column 'label'"),
        ("a.jsonl", '{"text": "ok", "label": ""}\n', ("text", "label"), "a.jsonl:1: column 'label' is empty"),
        ("a.txt", "text,label\n", ("text", "label"), "cannot tell the format"),
    ],
)
def test_reader_names_file_line_and_column(
    tmp_path: Path, name: str, content: str, columns: tuple[str, str], message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(UserError, match=None) as caught:
        read_labelled_texts(path, "data", *columns)
    assert message in str(caught.value)


def test_unknown_label_at_test_time_names_the_line(tmp_path: Path) -> None:
    train_file = write_labelled(tmp_path, 1)
    test_file = tmp_path / "test.csv"
    test_file.write_text("text,label\nfine words,sports\nodd words,weather\n")
    data = TextClassificationDataModule(
        LabelledTextFiles(str(train_file), str(train_file), str(test_file)),
        min_frequency=1,
        prepared_dir=str(tmp_path / "prepared"),
    )
    with pytest.raises(UserError, match=r"test\.csv:3: label 'weather' does not occur in the training data"):
        data.setup()


def test_balanced_class_weights_follow_the_train_counts(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("text,label\n" + "a b,x\n" * 6 + "c d,y\n" * 2)
    data = TextClassificationDataModule(
        LabelledTextFiles(str(path), str(path)), class_weights="balanced", prepared_dir=str(tmp_path / "p")
    )
    data.setup()
    assert data.handoff()["class_weights"] == pytest.approx([8 / (2 * 6), 8 / (2 * 2)])


@pytest.mark.parametrize("tokenizer", ["word", "bpe"])
def test_word_vectors_initialise_a_new_word_level_model(tmp_path: Path, tokenizer: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text("text,label\n" + "Great film,pos\n" * 3 + "Dull plot,neg\n" * 3)
    data = TextClassificationDataModule(
        LabelledTextFiles(str(path), str(path)), tokenizer=tokenizer, prepared_dir=str(tmp_path / "p")
    )
    data.setup()
    vectors = tmp_path / "glove.txt"
    vectors.write_text("great 1 1 1 1\nplot 2 2 2 2\n")
    model = ClassifierModel(**data.handoff(), embedding_dim=4, word_vectors=str(vectors))
    model.bind_fitted_state(data.fitted_state())
    if tokenizer == "bpe":
        with pytest.raises(UserError, match="model.word_vectors: .* needs data.tokenizer=word, not bpe"):
            model.load_pretrained()
        return
    model.load_pretrained()
    assert data.vocab is not None
    encoded = data.vocab.tokenizer.encode("Great plot")  # lowercased, as GloVe is
    assert model.net.embedding.weight[encoded[0]].tolist() == [1.0] * 4
    assert model.net.embedding.weight[encoded[1]].tolist() == [2.0] * 4
    vectors.write_text("great 1 1 1\n")
    wrong_size = ClassifierModel(**data.handoff(), embedding_dim=4, word_vectors=str(vectors))
    wrong_size.bind_fitted_state(data.fitted_state())
    with pytest.raises(
        UserError, match=r"glove.txt:1: vector has 3 values, .* needs 4 \(model.embedding_dim\)"
    ):
        wrong_size.load_pretrained()


# -- pooling ------------------------------------------------------------------------------------
def _encoded(bidirectional: bool) -> tuple[RecurrentBlock, torch.Tensor, torch.Tensor, torch.Tensor, object]:
    torch.manual_seed(0)
    block = RecurrentBlock(5, 6, bidirectional=bidirectional)
    x, lengths = torch.randn(3, 7, 5), torch.tensor([7, 4, 1])
    outputs, state = block(x, lengths)
    return block, x, lengths, outputs, state


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_pooling_is_the_final_state_of_each_direction(bidirectional: bool) -> None:
    block, _, lengths, outputs, (h, _) = _encoded(bidirectional)
    pooled, _ = SequencePooling("last", block.output_size, block.num_directions)(outputs, lengths)
    final = torch.cat([h[-2], h[-1]], dim=-1) if bidirectional else h[-1]
    assert torch.allclose(pooled, final, atol=1e-6)


@pytest.mark.parametrize("mode", ["mean", "max", "attention"])
def test_pooling_ignores_padding(mode: str) -> None:
    block, _, lengths, outputs, _ = _encoded(True)
    pooling = SequencePooling(mode, block.output_size, 2, attention_size=4)
    pooled, weights = pooling(outputs, lengths)
    garbage = outputs.clone()
    garbage[1, 4:] = 100.0
    garbage[2, 1:] = -100.0
    assert torch.allclose(pooling(garbage, lengths)[0], pooled, atol=1e-6)
    assert torch.allclose(pooling(outputs[1:2, :4], None)[0], pooled[1:2], atol=1e-6)
    if mode == "attention":
        assert weights is not None and torch.allclose(weights.sum(1), torch.ones(3))
        assert weights[1, 4:].abs().sum() == 0 and weights[2, 1:].abs().sum() == 0


# -- the embedded corpus ------------------------------------------------------------------------
def test_stdlib_docstrings_are_split_by_package_without_overlap(tmp_path: Path) -> None:
    corpus = StdlibDocstrings(str(tmp_path), min_examples=40)
    splits = corpus.load()
    assert splits == StdlibDocstrings(str(tmp_path), min_examples=40).load(), "read back, deterministic"
    texts = {split: {e.text for e in examples} for split, examples in splits.items()}
    assert (
        not texts["train"] & texts["test"]
        and not texts["train"] & texts["val"]
        and not texts["val"] & texts["test"]
    )
    labels = {split: {e.labels[0] for e in examples} for split, examples in splits.items()}
    assert labels["train"] == labels["val"] == labels["test"], "stratified: every class in every split"
    assert {"asyncio", "email", "logging", "unittest", "json"} & labels["train"] >= {
        "asyncio",
        "email",
        "logging",
    }
    for package in labels["train"]:
        total = sum(e.labels[0] == package for examples in splits.values() for e in examples)
        assert total >= 40
        assert sum(e.labels[0] == package for e in splits["test"]) == pytest.approx(0.15 * total, abs=1)


# -- training and the command line --------------------------------------------------------------
# mean and max are covered by the padding tests above; these two are the extremes (no parameters, most).
@pytest.mark.parametrize("pooling", ["last", "attention"])
def test_overfits_a_tiny_set_with_two_poolings(tmp_path: Path, pooling: str) -> None:
    overrides = [
        *tiny_classifier_overrides(write_labelled(tmp_path)),
        f"model.pooling={pooling}",
        "trainer.max_epochs=12",
    ]
    metrics = train(compose_config("train", overrides, tmp_path / "run"))
    assert metrics["test/acc"] == 1.0 and metrics["test/macro_f1"] == 1.0, metrics


def test_multi_label_overfits_and_predict_lists_the_labels(tmp_path: Path) -> None:
    path = tmp_path / "multi.jsonl"
    rows = [(t, [y, "news"] if i % 2 else [y]) for i, (t, y) in enumerate(EXAMPLES)]
    path.write_text(
        "".join(json.dumps({"text": t, "label": y}) for t, y in rows * 4).replace("}{", "}\n{") + "\n"
    )
    overrides = [*tiny_classifier_overrides(path), "data.multi_label=true", "trainer.max_epochs=15"]
    metrics = train(compose_config("train", overrides, tmp_path / "run"))
    assert metrics["test/acc"] == 1.0, metrics  # exact match of the whole label set
    model = model_from_checkpoint(read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt"))
    printed = ClassifierPredictor(model, ClassifierOptions(text=EXAMPLES[1][0])).predict().text
    probabilities = dict(line.split("\t") for line in printed.splitlines())
    assert set(probabilities) == {"news", "politics", "sports", "tech"}
    assert float(probabilities["sports"]) > 0.5 and float(probabilities["news"]) > 0.5


def test_train_eval_predict_through_the_cli(tmp_path: Path) -> None:
    path = write_labelled(tmp_path / "data")
    result = run_in_process(
        ["train", *tiny_classifier_overrides(path), "trainer.max_epochs=12", "hydra.run.dir=run"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    result = run_in_process(
        ["predict", f"ckpt_path={ckpt}", "text=the goalkeeper saved a penalty in the final"], cwd=tmp_path
    )
    rows = [line.split("\t") for line in result.stdout.strip().splitlines()]
    assert [r[0] for r in rows][0] == "sports" and len(rows) == 3, result.stdout
    assert sum(float(r[1]) for r in rows) == pytest.approx(1.0, abs=1e-3)
    texts = tmp_path / "texts.jsonl"
    texts.write_text('{"text": "the minister lost the election"}\n{"text": "a browser with a new chip"}\n')
    overrides = [f"ckpt_path={ckpt}", f"input_file={texts}", f"output_file={tmp_path / 'out.tsv'}"]
    assert predict(compose_config("predict", with_app_options(overrides))).startswith("classified 2 texts")
    out = (tmp_path / "out.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in out] == ["politics", "tech"]
    assert out[0].endswith("\tthe minister lost the election")
    result = run_in_process(["eval", f"ckpt_path={ckpt}"], cwd=tmp_path)
    assert result.returncode == 0 and "| sports | 100.00 | 100.00 | 100.00 | 8 |" in result.stdout, (
        result.stdout
    )
    events = list((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents.*"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = EventAccumulator(str(events[0].parent)).Reload().Tags()
    assert {"val/confusion_matrix", "samples/attention"} <= set(tags["images"]), tags["images"]


def test_per_label_table_from_a_confusion_matrix() -> None:
    table = per_label_table(torch.tensor([[3, 1], [0, 4]]), ["a", "b"], multi_label=False)
    assert "| a | 100.00 | 75.00 | 85.71 | 4 |" in table and "| b | 80.00 | 100.00 | 88.89 | 4 |" in table


# -------------------------------------------------------------------------------- served over HTTP
@pytest.mark.slow
@pytest.mark.serves("classifier")
def test_classifier_answers_as_its_predictor_and_survives_bad_requests(tmp_path: Path) -> None:
    ckpt, _ = trained("classifier")
    text = "the striker scored twice"
    expected = predictor_of(ckpt).classify([text])[0]
    with served("classifier") as server:
        check_info(server, "classifier", ckpt)
        assert openapi_fields(server) == {"text", "top_labels"}
        answer = server.post("/predict", json={"text": text}).json()
        labels = read_checkpoint(ckpt).handoff["labels"]
        assert answer["labels"] == [labels[int(expected.argmax())]]
        assert answer["probabilities"] == pytest.approx(
            {labels[i]: float(p) for i, p in enumerate(expected)}, abs=1e-5
        )
        assert list(answer["probabilities"].values()) == sorted(
            answer["probabilities"].values(), reverse=True
        )

        bad = [
            ({"data": '{"text": ', "headers": JSON}, 400, "body: not valid JSON"),
            ({"json": {}}, 422, "text: Field required"),
            ({"json": {"text": "a", "colour": "red"}}, 422, "colour: Extra inputs are not permitted"),
            ({"json": {"text": 42}}, 422, "text: Input should be a valid string"),
            (
                {"json": {"text": "a", "top_labels": -1}},
                422,
                "top_labels: Input should be greater than or equal to 0",
            ),
            ({"json": {"text": "   "}}, 422, "text: empty; give some text"),
            (
                {"json": {"text": "x" * 5001}},
                413,
                "text: 5001 characters, more than serve.max_input_chars=5000",
            ),
            ({"data": "text=hello"}, 415, "body: send a JSON object with Content-Type: application/json"),
            ({"json": ["a", "list"]}, 422, "body: Input should be a valid dictionary"),
        ]
        for request, status, message in bad:
            answer = server.post("/predict", **request)
            detail = answer.json()["detail"]
            assert answer.status_code == status and detail.startswith(message), (request, answer.text)
            assert "\n" not in detail
        still_serves(server, "/predict", json={"text": text})

        # Requests that arrive together are answered as batches, each with its own answer; a bad
        # one among them is answered alone with its 4xx and does not fail the others.
        texts = [f"{text} {i}" if i % 4 else "  " for i in range(24)]
        good = [i for i, t in enumerate(texts) if t.strip()]
        expected_all = dict(zip(good, predictor_of(ckpt).classify([texts[i] for i in good]), strict=True))
        answers: dict[int, Any] = {}

        def ask(i: int) -> None:
            answer = server.post("/predict", json={"text": texts[i]})
            answers[i] = (answer.status_code, answer.json())

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for i in range(len(texts)):
            status, body = answers[i]
            if i in expected_all:
                assert status == 200, body
                top = float(expected_all[i].max())
                assert max(body["probabilities"].values()) == pytest.approx(top, abs=1e-5)
            else:
                assert (status, body["detail"]) == (422, "text: empty; give some text")

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By

            open_playground(driver, server, "classifier")
            driver.find_element(By.ID, "text").send_keys(text)
            submit_and_wait(driver, "result")
            bars = driver.find_elements(By.CSS_SELECTOR, ".bar")
            assert [b.get_attribute("data-label") for b in bars] == list(answer_order(server, text))
            assert (
                driver.find_element(By.CSS_SELECTOR, ".bar.predicted").get_attribute("data-label")
                == answer_order(server, text)[0]
            )
            driver.find_element(By.ID, "text").clear()
            driver.find_element(By.ID, "text").send_keys(" ")
            driver.find_element(By.ID, "submit").click()
            from selenium.webdriver.support.ui import WebDriverWait

            WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "error").text)
            assert driver.find_element(By.ID, "error").text == "422: text: empty; give some text"
        finally:
            driver.quit()


def answer_order(server: Server, text: str) -> list[str]:
    return list(server.post("/predict", json={"text": text}).json()["probabilities"])


# -------------------------------------------------------------------------------- public data sets (lstm-apps prepare)
def test_sst2_zip_is_arranged_with_dev_as_test_and_a_held_out_val(tmp_path: Path) -> None:

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


def test_sst2_validation_is_held_out_by_sentence_with_its_phrases(tmp_path: Path) -> None:

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

"""The seq2seq app: learns a tiny task exactly, decodes in batches, and runs from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lstm_apps.apps.seq2seq.prepare as prepare_seq2seq
from helpers.config import compose_config
from helpers.running import run_in_process
from helpers.serving import (
    browser_or_skip,
    check_info,
    open_playground,
    openapi_fields,
    predictor_of,
    served,
    submit_and_wait,
    trained,
)
from lstm_apps.apps.seq2seq.datamodule import ParallelDataModule
from lstm_apps.apps.seq2seq.model import Seq2SeqModel
from lstm_apps.apps.seq2seq.parallel import ParallelFiles
from lstm_apps.apps.seq2seq.predictor import Seq2SeqOptions, Seq2SeqPredictor
from lstm_apps.apps.seq2seq.tiny import PAIRS, tiny_seq2seq_overrides, write_pairs
from lstm_apps.cli.predict import with_app_options
from lstm_apps.config_ranges import check_options
from lstm_apps.core.beam_search import Hypothesis
from lstm_apps.errors import UserError
from lstm_apps.pipeline.predict import predict
from lstm_apps.pipeline.predictor import predictor_for
from lstm_apps.pipeline.train import train
from lstm_apps.text.tokenizer import UNK

REPO = Path(__file__).resolve().parents[1]


def test_overfits_a_tiny_parallel_set_to_exact_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    dm = ParallelDataModule(
        ParallelFiles(str(write_pairs(tmp_path, 1)), str(write_pairs(tmp_path, 1))),
        tokenizer="word",
        prepared_dir=str(tmp_path / "prepared"),
    )
    dm.setup("fit")
    model = Seq2SeqModel(**dm.handoff(), embedding_dim=16, hidden_size=32, dropout=0.0, label_smoothing=0.0)
    model.bind_fitted_state(dm.fitted_state())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    batch = next(iter(dm.train_dataloader()))
    for _ in range(150):
        logits, _ = model(batch)
        loss = model._loss(logits, batch["tgt_out"], 0.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    sources = [s for s, _ in PAIRS]
    greedy = Seq2SeqPredictor(model.eval(), Seq2SeqOptions(beam_size=1)).translate(sources)
    beam = Seq2SeqPredictor(model, Seq2SeqOptions(beam_size=4, n_best=2)).translate(sources)
    assert [h[0][0] for h in greedy] == [t for _, t in PAIRS]
    assert [h[0][0] for h in beam] == [t for _, t in PAIRS]
    assert all(len(h) == 2 and h[0][1] >= h[1][1] for h in beam)


def test_word_targets_decode_to_the_references_as_written(tmp_path: Path) -> None:
    pairs = [
        ("Zwei Männer, draußen.", "Two men, outside."),
        ("Ein T-Shirt (rot).", "A man's T-shirt (red)."),
    ]
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(f"{s}\t{t}\n" for s, t in pairs))
    dm = ParallelDataModule(
        ParallelFiles(str(tsv), str(tsv)), tokenizer="word", prepared_dir=str(tmp_path / "prepared")
    )
    dm.setup("fit")
    targets = dm.encoded["val"][1]
    decoded = [dm._target_tokenizer().decode(targets[i]) for i in range(len(pairs))]
    assert decoded == [t for _, t in pairs] == list(dm.references("val"))

    model = Seq2SeqModel(**dm.handoff(), embedding_dim=8, hidden_size=8, replace_unknown=True)
    model.bind_fitted_state(dm.fitted_state())
    unk = dm._target_tokenizer().token_id(UNK)
    men = Hypothesis([*dm._target_tokenizer().encode("Two"), unk], 0.0, 0.0, torch.eye(4)[[0, 1]])
    assert model.hypothesis_text(men, "Zwei Männer, draußen.") == "Two Männer"
    model.replace_unknown = False
    assert model.hypothesis_text(men, "Zwei Männer, draußen.") == "Two"


@pytest.mark.slow
def test_train_predict_eval_end_to_end(tmp_path: Path) -> None:
    tsv = write_pairs(tmp_path)
    cfg = compose_config("train", tiny_seq2seq_overrides(tsv) + ["trainer.max_epochs=25"], tmp_path / "run")
    metrics = train(cfg)
    assert metrics["test/exact_match"] == 100.0 and metrics["val/chrf"] == 100.0
    assert {"test/bleu", "test/bleu_lc", "test/chrf", "test/loss", "val/exact_match"} <= set(metrics)
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert "samples/translations/text_summary" in events.Tags()["tensors"]
    assert "attention/example_0" in events.Tags()["images"], "attention heat maps each validation epoch"
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    predicted = predict(
        compose_config(
            "predict", with_app_options([f"ckpt_path={ckpt}", "input=three two one", "beam_size=3"])
        )
    )
    assert predicted == "3 2 1"
    lines = tmp_path / "inputs.txt"
    lines.write_text("one two\ntwo two three\n")
    result = run_in_process(
        ["predict", f"ckpt_path={ckpt}", f"input_file={lines}", "n_best=2", "beam_size=3"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [r.split("\t") for r in result.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == ["0", "0", "1", "1"] and rows[0][2] == "1 2" and rows[2][2] == "2 2 3"
    with pytest.raises(UserError, match="exactly one of input"):
        predict(compose_config("predict", with_app_options([f"ckpt_path={ckpt}"])))
    evaluated = run_in_process(
        ["eval", f"ckpt_path={ckpt}", "trainer.enable_progress_bar=false"], cwd=tmp_path
    )
    assert evaluated.returncode == 0 and "test/exact_match=100.0000" in evaluated.stdout, evaluated.stderr[
        -2000:
    ]


def test_malformed_parallel_file_stops_the_cli_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nno tab here\n")
    result = run_in_process(
        [
            "train",
            "app=seq2seq",
            "data/corpus=parallel_files",
            f"data.corpus.train={bad}",
            f"data.corpus.val={bad}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert f"lstm-apps: error: {bad}:2: expected 2 tab-separated columns" in result.stderr


# -------------------------------------------------------------------------------- served over HTTP
@pytest.mark.slow
@pytest.mark.serves("seq2seq")
def test_seq2seq_answers_n_best_and_attention(tmp_path: Path) -> None:
    ckpt, _ = trained("seq2seq")
    with served("seq2seq") as server:
        check_info(server, "seq2seq", ckpt)
        assert openapi_fields(server) == {"source", "beam_size", "n_best", "attention"}
        answer = server.post(
            "/predict", json={"source": "one two", "beam_size": 3, "n_best": 2, "attention": True}
        ).json()
        expected = predictor_of(ckpt).translate(["one two"], 3, 2)[0]
        assert [h["text"] for h in answer["n_best"]] == [h.text for h in expected]
        assert answer["translation"] == expected[0].text
        attention = answer["attention"]
        assert len(attention["weights"]) == len(attention["target_tokens"])
        assert all(len(row) == len(attention["source_tokens"]) for row in attention["weights"])
        assert all(sum(row) == pytest.approx(1.0, abs=1e-4) for row in attention["weights"])
        assert server.post("/predict", json={"source": "one two"}).json()["attention"] is None
        assert server.post("/predict", json={"source": "one", "beam_size": 0}).status_code == 422

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By

            open_playground(driver, server, "seq2seq")
            driver.find_element(By.ID, "source").send_keys("one two")
            assert (
                submit_and_wait(driver, "translation").text
                == predictor_of(ckpt).translate(["one two"])[0][0].text
            )
            cells = driver.find_elements(By.CSS_SELECTOR, "#attention tbody td")
            default = server.post("/predict", json={"source": "one two", "attention": True}).json()[
                "attention"
            ]
            assert len(cells) == sum(len(row) for row in default["weights"]) > 0
        finally:
            driver.quit()


def test_predict_options_within_their_ranges_pass() -> None:
    check_options(predictor_for("seq2seq").options_type, {"beam_size": 4, "n_best": 2})


# -------------------------------------------------------------------------------- public data sets (lstm-apps prepare)
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

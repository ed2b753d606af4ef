"""The captioner: attention over regions, shared search, learning exact captions, CLI end to end."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lstm_apps.apps.captioner.prepare as prepare_captioner
from helpers.config import compose_config
from helpers.running import run_in_process
from helpers.serving import (
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
from lstm_apps.apps.captioner.datamodule import IMAGENET_MEAN, IMAGENET_STD, CaptionDataModule
from lstm_apps.apps.captioner.model import CaptionModel
from lstm_apps.apps.captioner.predictor import CaptionerOptions, CaptionerPredictor
from lstm_apps.apps.captioner.sources import KarpathyDataset, ScenesDataset
from lstm_apps.apps.captioner.tiny import handful
from lstm_apps.cli.predict import with_app_options
from lstm_apps.config_ranges import check_options
from lstm_apps.core.attention_decoder import DecoderState
from lstm_apps.core.beam_search import beam_search
from lstm_apps.errors import UserError
from lstm_apps.pipeline.predict import predict
from lstm_apps.pipeline.predictor import predictor_for
from lstm_apps.pipeline.train import train
from lstm_apps.plots import attention_overlay

SMALL = {"backbone": "small", "grid_size": 2, "channels": 32}


def test_overfits_a_handful_of_images_to_their_exact_captions(tmp_path: Path) -> None:
    torch.manual_seed(0)
    dm = CaptionDataModule(KarpathyDataset(str(handful(tmp_path)), str(tmp_path)), batch_size=4)
    dm.setup("fit")
    model = CaptionModel(**dm.handoff(), encoder=SMALL, hidden_size=64, embedding_dim=16, dropout=0.0)
    model.bind_fitted_state(dm.fitted_state())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    batch = next(iter(dm.train_dataloader()))
    for _ in range(120):
        nll, penalty = model._loss(batch)
        optimizer.zero_grad()
        (nll + penalty).backward()
        optimizer.step()
    model.eval()
    paths = dm.image_paths("test")
    expected = [refs[0] for refs in dm.references("test")]
    assert CaptionerPredictor(model, CaptionerOptions(beam_size=1)).caption_files(paths) == expected
    assert CaptionerPredictor(model, CaptionerOptions(beam_size=3)).caption_files(paths) == expected


def test_attention_over_regions_sums_to_one_in_training_and_search(tmp_path: Path) -> None:
    torch.manual_seed(1)
    dm = CaptionDataModule(KarpathyDataset(str(handful(tmp_path)), str(tmp_path)))
    dm.setup("test")
    model = CaptionModel(**dm.handoff(), encoder=SMALL, hidden_size=32, max_len=6).eval()
    model.bind_fitted_state(dm.fitted_state())
    images = next(iter(dm.test_dataloader()))["images"]
    _, logits_attention = model({"images": images, "tgt_in": torch.full((images.size(0), 3), model.bos_id)})
    torch.testing.assert_close(logits_attention.sum(-1), torch.ones(images.size(0), 3))
    assert logits_attention.size(-1) == 4  # a 2 x 2 grid of regions
    greedy = model.decode(images, beam_size=1)
    # The captioner decodes with the shared searches: a beam of one over its decoder is greedy.
    memory, state = model.net.encode(images)
    keys = model.net.decoder.attention.prepare(memory)

    def step(tokens, st):
        return model.net.decoder._log_probs(tokens, st, memory, None, keys)

    single = beam_search(step, DecoderState.select, state, images.size(0), 1, model.bos_id, model.eos_id, 6)
    assert [b[0].tokens for b in single] == [g[0].tokens for g in greedy]
    beams = model.decode(images, beam_size=4, n_best=2)
    for hyps in beams:
        assert len(hyps) == 2 and hyps[0].score >= hyps[1].score
        if hyps[0].tokens:
            torch.testing.assert_close(hyps[0].attention.sum(-1), torch.ones(len(hyps[0].tokens)))
    overlay = attention_overlay(images[0], greedy[0][0].attention, IMAGENET_MEAN, IMAGENET_STD)
    assert overlay.shape == (3, 64, 64 * (1 + len(greedy[0][0].tokens)))


def test_scenes_dataset_is_written_once(tmp_path: Path) -> None:
    source = ScenesDataset(str(tmp_path), train_size=5, val_size=2, test_size=2)
    splits = source.load()
    assert [len(splits[s]) for s in ("train", "val", "test")] == [5, 2, 2]
    stamp = (source.directory / "dataset.json").stat().st_mtime_ns
    source.load()
    assert (source.directory / "dataset.json").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_train_predict_end_to_end(tmp_path: Path) -> None:
    dataset = handful(tmp_path / "data")
    overrides = [
        "app=captioner",
        "data/dataset=karpathy",
        f"data.dataset.json_path={dataset}",
        f"data.dataset.image_root={dataset.parent}",
        "data.batch_size=4",
        "model.encoder.channels=32",
        "model.encoder.grid_size=2",
        "model.hidden_size=64",
        "model.embedding_dim=16",
        "model.dropout=0.0",
        "optimizer.lr=0.01",
        "scheduler=none",
        "callbacks=minimal",
        "trainer.max_epochs=150",
        "trainer.enable_progress_bar=false",
        "trainer.num_sanity_val_steps=0",
        "trainer.check_val_every_n_epoch=50",
        "callbacks.early_stopping=null",
    ]
    metrics = train(compose_config("train", overrides, tmp_path / "run"))
    assert metrics["test/bleu1"] == pytest.approx(100.0)
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert (
        "attention/image_0" in events.Tags()["images"]
        and "samples/captions/text_summary" in events.Tags()["tensors"]
    )
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    image = dataset.parent / "1.png"
    assert (
        predict(compose_config("predict", with_app_options([f"ckpt_path={ckpt}", f"image={image}"])))
        == "a blue square"
    )
    result = run_in_process(
        ["predict", f"ckpt_path={ckpt}", f"image_dir={dataset.parent}", "beam_size=2"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[0] == "0.png\ta red circle"
    with pytest.raises(UserError, match="exactly one of image"):
        predict(compose_config("predict", with_app_options([f"ckpt_path={ckpt}"])))


# -------------------------------------------------------------------------------- served over HTTP
@pytest.mark.slow
@pytest.mark.serves("captioner")
def test_captioner_captions_an_upload_and_refuses_what_is_not_an_image(tmp_path: Path) -> None:
    ckpt, setup = trained("captioner")
    image = Path(setup.predict[0].split("=", 1)[1])
    with served("captioner") as server:
        check_info(server, "captioner", ckpt)
        assert openapi_fields(server) == {"image", "beam_size", "attention"}
        files = {"image": ("1.png", image.read_bytes(), "image/png")}
        answer = server.post("/predict", files=files, data={"beam_size": "2", "attention": "true"}).json()
        assert answer["caption"] == predictor_of(ckpt, beam_size=2).caption_files([image])[0]
        attention = answer["attention"]
        assert len(attention["weights"]) == len(attention["words"])
        assert all(len(w) == attention["grid_size"] ** 2 for w in attention["weights"])
        not_image = server.post("/predict", files={"image": ("x.png", b"not an image at all", "image/png")})
        assert not_image.status_code == 415 and not_image.json()["detail"].startswith(
            "image: not an image (x.png"
        )
        assert server.post("/predict", data={"beam_size": "2"}).json()["detail"] == "image: Field required"
        too_big = server.post("/predict", files={"image": ("big.png", b"x" * 21_000_000, "image/png")})
        assert (too_big.status_code, too_big.json()["detail"]) == (
            413,
            "body: larger than serve.max_upload_mb=20 MB",
        )
        still_serves(server, "/predict", files=files)

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By

            open_playground(driver, server, "captioner")
            driver.find_element(By.ID, "image").send_keys(str(image))
            assert submit_and_wait(driver, "caption").text == (
                predictor_of(ckpt).caption_files([image])[0] or ""
            )
            assert driver.find_elements(By.ID, "overlay")
        finally:
            driver.quit()


def test_a_predict_beam_of_zero_is_refused_in_one_line() -> None:
    with pytest.raises(UserError, match=r"^beam_size=0 is out of range \(an integer >= 1\)$"):
        check_options(predictor_for("captioner").options_type, {"beam_size": 0})


# -------------------------------------------------------------------------------- public data sets (lstm-apps prepare)
def test_flickr8k_is_arranged_for_the_karpathy_reader(tmp_path: Path) -> None:

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

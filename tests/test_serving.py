"""``lstm-apps serve``: every app over HTTP — its sample request answered as its predictor
answers, its playground form filled in a headless Chromium — bad requests as one-line 4xx answers
while the server keeps serving, batching, several processes, int8. What only one app's endpoints do
(its fields, its refusals, streaming) is tested in that app's test file."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from queue import Queue
from typing import Any

import numpy as np
import pytest
import requests
from fastapi import HTTPException

from helpers.running import run_main
from helpers.serving import (
    browser_or_skip,
    check_info,
    open_playground,
    predictor_of,
    sample_request,
    serving,
    shared_server,
    still_serves,
    submit_and_wait,
    tiny_checkpoint,
)
from lstm_apps.core.recurrent import quantize_recurrent_layers
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.predictor import predictor_for
from lstm_apps.registry import apps
from lstm_apps.serving.api import AppAPI, TakeWhatIsQueued
from lstm_apps.serving.server import endpoints_for, playground_script
from lstm_apps.serving.settings import ServeSettings

APPS = list(apps())


# -------------------------------------------------------------------------------- without a server
@pytest.mark.parametrize("app", APPS)
def test_each_app_has_endpoints_with_schemas_and_a_playground_form(app: str) -> None:
    endpoints = endpoints_for(app)
    assert endpoints and all(issubclass(e, AppAPI) and e.summary for e in endpoints)
    assert {e.default_path for e in endpoints} >= {"/predict"}
    script = playground_script(app)
    assert script.is_file() and "playground.mount(" in script.read_text()


class _Transport:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, item: Any, consumer_id: int) -> None:
        self.sent.append(item)


class _Echo(AppAPI):
    summary = "echo"

    def answer(self, items: list[Any]) -> list[Any]:
        return items


def test_a_model_process_takes_everything_queued_as_one_batch_and_does_not_wait_alone() -> None:
    api = _Echo("unused.ckpt", ServeSettings(max_batch_size=4))
    api.request_timeout = 30  # the server sets it from serve.timeout
    loop = TakeWhatIsQueued()
    queue: Queue = Queue()
    for i in range(6):
        queue.put((0, f"uid{i}", time.monotonic(), {"n": i}))
    first, _ = loop.get_batch_requests(api, queue, _Transport())
    second, _ = loop.get_batch_requests(api, queue, _Transport())
    assert [p[2]["n"] for p in first] == [0, 1, 2, 3]  # as many as max_batch_size allows
    assert [p[2]["n"] for p in second] == [4, 5]  # the rest, without waiting for more
    started = time.monotonic()
    assert loop.get_batch_requests(api, queue, _Transport()) == ([], [])  # idle: blocks, then nothing
    assert time.monotonic() - started >= 0.4


def test_a_request_that_finds_the_process_idle_is_answered_alone_at_once() -> None:
    api = _Echo("unused.ckpt", ServeSettings(max_batch_size=8))
    api.request_timeout = 30
    queue: Queue = Queue()

    def arrive() -> None:
        time.sleep(0.05)
        for i in range(3):
            queue.put((0, f"uid{i}", time.monotonic(), {"n": i}))

    threading.Thread(target=arrive).start()
    loop = TakeWhatIsQueued()
    first, _ = loop.get_batch_requests(api, queue, _Transport())  # waited for it: nothing behind
    time.sleep(0.01)
    rest, _ = loop.get_batch_requests(api, queue, _Transport())  # these queued meanwhile
    assert [p[2]["n"] for p in first] == [0] and [p[2]["n"] for p in rest] == [1, 2]


def test_an_error_inside_the_model_is_a_500_that_says_what_failed(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(AppAPI):
        summary = "broken"

        def answer(self, items: list[Any]) -> list[Any]:
            raise RuntimeError("shape mismatch in layer 2")

    api = Broken("unused.ckpt", ServeSettings(max_batch_size=1))
    with caplog.at_level(logging.ERROR, "lstm_apps.serving"), pytest.raises(HTTPException) as failed:
        api.predict([{"text": "x"}])
    assert failed.value.status_code == 500
    assert failed.value.detail == "model error: RuntimeError: shape mismatch in layer 2"
    assert "model error" in caplog.text and "shape mismatch" in caplog.text  # logged, with its traceback


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("serve.port=0", "serve.port=0"),
        ("serve.host=10.1.2.3", "serve.host=10.1.2.3"),
        ("serve.max_batch_size=0", "serve.max_batch_size=0"),
        ("serve.prot=8000", "unknown config key 'prot'"),
        ("serve.quantize=int4", "serve.quantize=int4"),
        (
            "serve.quantize=int8 serve.accelerator=cuda",
            "serve.quantize=int8: int8 layers run on the CPU only; set serve.accelerator=cpu (or auto), not cuda",
        ),
    ],
)
def test_a_bad_serve_setting_is_one_line_before_anything_starts(
    tmp_path: Path, override: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_main(["serve", f"ckpt_path={tmp_path / 'missing.ckpt'}", *override.split()])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err


def test_serving_a_missing_checkpoint_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(["serve", f"ckpt_path={tmp_path / 'missing.ckpt'}"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"lstm-apps: error: ckpt_path: file not found: {tmp_path / 'missing.ckpt'}"
    )


# -------------------------------------------------------------------------------- over HTTP


@pytest.mark.slow
def test_answers_find_their_requests_across_two_front_ends_and_two_model_processes(tmp_path: Path) -> None:
    ckpt = tiny_checkpoint("tagger", tmp_path)
    texts = [f"word{i} and w{i % 7} then {'x' * (1 + i % 5)} ." for i in range(64)]
    answers: dict[int, Any] = {}

    def ask(first: int) -> None:  # each client on its own connection, one request after another
        with requests.Session() as session:
            for i in range(first, len(texts), 8):
                answers[i] = session.post(server.url + "/predict", json={"text": texts[i]}, timeout=60)

    with serving(ckpt, "serve.api_servers=2", "serve.workers_per_device=2") as server:
        clients = [threading.Thread(target=ask, args=(first,)) for first in range(8)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        assert server.get("/info").json()["model"]["batching"]["max_batch_size"] == 32
    for i, text in enumerate(texts):  # each answer is its own request's, whichever processes took it
        assert answers[i].status_code == 200, answers[i].text
        assert [token["text"] for token in answers[i].json()["tokens"]] == text.split()


@pytest.mark.slow
def test_int8_layers_answer_as_the_int8_predictor_does_and_near_float32(tmp_path: Path) -> None:
    ckpt = tiny_checkpoint("classifier", tmp_path)
    texts = ["the striker scored twice", "rain again in the north"]
    info = read_checkpoint(ckpt)
    model = model_from_checkpoint(info)
    assert quantize_recurrent_layers(model) == 1
    predictor = predictor_for("classifier")
    # One at a time, as the server gets them: activations are quantized with their batch's range.
    int8 = np.stack([predictor(model, predictor.options_type(), "cpu").classify([text])[0] for text in texts])
    float32 = np.stack([predictor_of(ckpt).classify([text])[0] for text in texts])
    assert not np.array_equal(int8, float32) and np.allclose(int8, float32, atol=0.02)
    labels = info.handoff["labels"]
    with serving(ckpt, "serve.quantize=int8") as server:
        assert server.get("/info").json()["model"]["quantize"] == "int8"
        for text, expected in zip(texts, int8, strict=True):
            answer = server.post("/predict", json={"text": text}).json()["probabilities"]
            assert answer == pytest.approx({labels[i]: float(p) for i, p in enumerate(expected)}, abs=1e-5)
    assert "batching up to 32, recurrent layers in int8;" in server.output()


# -------------------------------------------------------------------------------- every app, by its registration
@pytest.mark.slow
@pytest.mark.parametrize("app", [pytest.param(app, marks=pytest.mark.serves(app)) for app in APPS])
def test_serves_its_sample_request_and_fills_its_playground_form(app: str, tmp_path: Path) -> None:
    """Driven by the app's tiny setup alone: ``/info`` names it, its request is answered with the
    keys its setup names, a malformed body is a one-line 4xx and the server goes on, and its form
    filled on the playground shows an answer and no error."""
    server, ckpt, setup = shared_server(app)
    check_info(server, app, ckpt)
    request = sample_request(setup)
    answer = server.post("/predict", **request)
    assert answer.status_code == 200, answer.text
    assert setup.answer_keys and setup.answer_keys <= set(answer.json()), answer.json()
    refused = server.post(
        "/predict", data=b"\xff not what it takes", headers={"Content-Type": "application/json"}
    )
    assert 400 <= refused.status_code < 500 and "\n" not in refused.json()["detail"], refused.text
    still_serves(server, "/predict", **request)

    assert setup.playground is not None, f"{app}: its tiny setup names no playground form"
    driver = browser_or_skip()
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        open_playground(driver, server, app)
        for step in setup.playground.steps:
            step.apply(driver, tmp_path)
        submit_and_wait(driver, "submit")
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, setup.playground.answer))
        assert driver.find_element(By.ID, "error").text == ""
    finally:
        driver.quit()

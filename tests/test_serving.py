"""``lstm-apps serve``: every app over HTTP (answers equal to its predictor's), bad requests as
one-line 4xx answers while the server keeps serving, batching, the SIGTERM drain, and each app's
playground driven in a headless Chromium."""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from pathlib import Path
from queue import Queue
from typing import Any

import numpy as np
import pytest
import requests
from fastapi import HTTPException

from helpers.config import compose_config
from helpers.running import run_main
from helpers.serving import CHROMEDRIVER, CHROMIUM, Server, chromium, serving, tiny_checkpoint
from helpers.tiny import TINY
from lstm_apps.core.recurrent import quantize_recurrent_layers
from lstm_apps.paths import available_apps
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.predictor import predictor_for
from lstm_apps.pipeline.train import train
from lstm_apps.serving.api import AppAPI, TakeWhatIsQueued
from lstm_apps.serving.server import endpoints_for, playground_script
from lstm_apps.serving.settings import ServeSettings

APPS = available_apps()
JSON = {"Content-Type": "application/json"}
# Long enough for each tiny model to say something worth checking (a translation, tags).
TRAIN = [
    "trainer.max_epochs=15",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "test_after_fit=false",
    "callbacks.early_stopping=null",
]


def trained(app: str, folder: Path) -> tuple[Path, list[str]]:
    """A tiny checkpoint of ``app`` and the folder of its data; the ``predict`` options of TINY."""
    setup = TINY[app](folder)
    train(compose_config("train", [*setup.overrides, *TRAIN], folder / "run"))
    return folder / "run" / "checkpoints" / "last.ckpt", setup.predict


def predictor_of(ckpt: Path, **options: Any) -> Any:
    """The app's predictor in this process, on the same checkpoint the server loads."""
    info = read_checkpoint(ckpt)
    predictor = predictor_for(info.app)
    return predictor(model_from_checkpoint(info), predictor.options_type(**options), "cpu")


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
def openapi_fields(server: Server, path: str = "/predict") -> set[str]:
    spec = server.get("/openapi.json").json()
    body = spec["paths"][path]["post"]["requestBody"]["content"]
    schema = next(iter(body.values()))["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema["properties"])


def check_info(server: Server, app: str, ckpt: Path) -> None:
    info = server.get("/info").json()["model"]
    assert info["app"] == app and info["checkpoint"] == str(ckpt) and info["version"]
    assert info["training"]["model"]["class"] and "/predict" in info["endpoints"]
    assert server.get("/health").text == "ok"


def still_serves(server: Server, path: str, **request: Any) -> None:
    answer = server.post(path, **request)
    assert answer.status_code == 200, answer.text
    assert server.get("/health").status_code == 200


def browser_or_skip():  # type: ignore[no-untyped-def]
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no Chromium and chromedriver here: the playground was not driven (HTTP checks passed)")
    return chromium()


def open_playground(driver: Any, server: Server, app: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(server.url + "/")
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
    assert app in driver.title and app in driver.find_element(By.CSS_SELECTOR, "h1").text


def submit_and_wait(driver: Any, element_id: str) -> Any:
    """Submit the form, wait until the page says this submission finished, and return
    ``element_id`` (the page must show no error)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    body = driver.find_element(By.TAG_NAME, "body")
    finished = int(body.get_attribute("data-finished") or 0)
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 30).until(lambda d: int(body.get_attribute("data-finished") or 0) > finished)
    assert driver.find_element(By.ID, "error").text == ""
    return driver.find_element(By.ID, element_id)


@pytest.mark.slow
def test_classifier_answers_as_its_predictor_and_survives_bad_requests(tmp_path: Path) -> None:
    ckpt, _ = trained("classifier", tmp_path)
    text = "the striker scored twice"
    expected = predictor_of(ckpt).classify([text])[0]
    with serving(ckpt, "serve.max_input_chars=200") as server:
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
            ({"json": {"text": "x" * 201}}, 413, "text: 201 characters, more than serve.max_input_chars=200"),
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


@pytest.mark.slow
def test_tagger_answers_entities_with_character_offsets(tmp_path: Path) -> None:
    ckpt, _ = trained("tagger", tmp_path)
    text = "John lives in Berlin ."
    with serving(ckpt) as server:
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


@pytest.mark.slow
def test_seq2seq_answers_n_best_and_attention(tmp_path: Path) -> None:
    ckpt, _ = trained("seq2seq", tmp_path)
    with serving(ckpt) as server:
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


@pytest.mark.slow
def test_textgen_streams_what_it_generates_and_sigterm_drains_the_request_in_flight(tmp_path: Path) -> None:
    ckpt, _ = trained("textgen", tmp_path)
    request = {"prompt": "the cat", "max_new_tokens": 40, "seed": 7}
    model = model_from_checkpoint(read_checkpoint(ckpt))
    expected = model.generate("the cat", 40, seed=7)[0]
    with serving(ckpt) as server:
        check_info(server, "textgen", ckpt)
        answer = server.post("/predict", json=request).json()
        assert answer["generated"] == [expected] and answer["samples"] == ["the cat" + expected]
        together = server.post("/predict", json={"prompt": "a", "max_new_tokens": 5, "num_samples": 3}).json()
        assert len(together["generated"]) == 3
        streamed = server.post("/stream", json=request, stream=True)
        pieces = [json.loads(line) for line in streamed.iter_lines() if line]
        assert "".join(p["text"] for p in pieces) == expected and not any(p["before"] for p in pieces)
        assert server.post("/stream", json={**request, "temperature": 0}).status_code == 422

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import WebDriverWait

            open_playground(driver, server, "textgen")
            driver.find_element(By.ID, "prompt").send_keys("the cat")
            driver.find_element(By.ID, "max_new_tokens").clear()
            driver.find_element(By.ID, "max_new_tokens").send_keys("40")
            driver.find_element(By.ID, "seed").send_keys("7")
            driver.find_element(By.ID, "temperature").clear()
            driver.find_element(By.ID, "temperature").send_keys("1")
            driver.find_element(By.ID, "submit").click()
            WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#output[data-done]"))
            output = driver.find_element(By.ID, "output")
            assert driver.execute_script("return arguments[0].textContent", output) == "the cat" + expected
            assert int(output.get_attribute("data-pieces")) == len(pieces)
        finally:
            driver.quit()

        # SIGTERM while a long stream is in flight: it is answered to the end, then the server exits.
        long = server.post("/stream", json={"prompt": "the", "max_new_tokens": 2000, "seed": 1}, stream=True)
        lines = long.iter_lines()
        first = next(lines)
        server.process.send_signal(signal.SIGTERM)
        rest = [line for line in lines if line]
        whole = "".join(json.loads(line)["text"] for line in [first, *rest])
        assert whole == model.generate("the", 2000, seed=1)[0]
        assert server.process.wait(60) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/health", timeout=2)


@pytest.mark.slow
def test_forecaster_answers_the_forecast_of_a_json_series(tmp_path: Path) -> None:
    ckpt, predict = trained("forecaster", tmp_path)
    csv_path = Path(predict[0].split("=", 1)[1])
    lines = csv_path.read_text().strip().splitlines()[1:]
    series = {
        "time": [line.split(",")[0] for line in lines],
        "values": {"value": [float(line.split(",")[1]) for line in lines]},
    }
    with serving(ckpt) as server:
        check_info(server, "forecaster", ckpt)
        answer = server.post("/predict", json=series).json()
        expected = predictor_of(ckpt, input_file=str(csv_path)).predict().text.strip().splitlines()[1:]
        assert answer["time"] == [row.split(",")[0] for row in expected]
        assert answer["forecast"]["value"] == pytest.approx(
            [float(row.split(",")[1]) for row in expected], rel=1e-4
        )
        short = {"time": series["time"][:3], "values": {"value": series["values"]["value"][:3]}}
        assert (
            server.post("/predict", json=short)
            .json()["detail"]
            .startswith("time: 3 rows; the model reads the last")
        )
        wrong = {"time": series["time"], "values": {"price": series["values"]["value"]}}
        assert server.post("/predict", json=wrong).json()["detail"].startswith("values.value: missing")
        gap = {
            "time": series["time"][:5] + series["time"][6:],
            "values": {"value": series["values"]["value"][1:]},
        }
        assert "breaking the regular step" in server.post("/predict", json=gap).json()["detail"]

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By

            open_playground(driver, server, "forecaster")
            driver.find_element(By.ID, "example").click()
            submit_and_wait(driver, "chart")
            assert len(driver.find_elements(By.CSS_SELECTOR, "#forecast tbody tr")) == len(answer["time"])
            assert driver.find_elements(By.CSS_SELECTOR, "#chart polyline.forecast")
        finally:
            driver.quit()


@pytest.mark.slow
def test_music_samples_pieces_continues_primers_and_refuses_bad_ones(tmp_path: Path) -> None:
    import base64

    from lstm_apps.apps.music.piano_roll import frames
    from lstm_apps.apps.music.score_files import midi_bytes

    ckpt, _ = trained("music", tmp_path)
    primer = [[60, 64, 67], [60, 64, 67], [62, 65, 69]]
    with serving(ckpt) as server:
        check_info(server, "music", ckpt)
        assert openapi_fields(server) == {
            "num_samples",
            "length",
            "temperature",
            "seed",
            "primer",
            "primer_midi",
        }
        request = {"num_samples": 2, "length": 5, "seed": 4, "primer": primer}
        answer = server.post("/predict", json=request).json()
        assert answer["primer_steps"] == 3 and answer["steps_per_quarter"] == 1
        expected = predictor_of(ckpt).sample(2, 5, 1.0, frames(primer, "p"), 4)
        assert [s["steps"] for s in answer["samples"]] == [
            [[int(k) + 21 for k in np.flatnonzero(f)] for f in roll] for roll in expected
        ]
        assert all(s["steps"][:3] == primer for s in answer["samples"])
        assert base64.b64decode(answer["samples"][0]["midi"]).startswith(b"MThd")
        as_file = base64.b64encode(midi_bytes(frames(primer, "p"), 1, 100)).decode()
        from_file = server.post("/predict", json={"length": 2, "seed": 4, "primer_midi": as_file}).json()
        assert from_file["primer_steps"] == 3 and from_file["samples"][0]["steps"][:3] == primer
        bad = [
            ({"primer": [[60], [200]]}, 422, "primer, step 1: pitch 200 is off the piano keyboard"),
            (
                {"primer": [[60]] * 500},
                422,
                "primer: the primer is 500 steps on the model's grid, longer than",
            ),
            (
                {"primer_midi": base64.b64encode(b"not midi").decode()},
                422,
                "primer_midi: not a MIDI or MusicXML",
            ),
            ({"primer_midi": "%%%"}, 422, "primer_midi: not base64"),
            ({"length": 0}, 422, "length: Input should be greater than or equal to 1"),
            ({"num_samples": 2, "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
        ]
        for body, status, message in bad:
            refused = server.post("/predict", json=body)
            assert refused.status_code == status and refused.json()["detail"].startswith(message), (
                body,
                refused.text,
            )
        still_serves(server, "/predict", json={"length": 3})

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By

            open_playground(driver, server, "music")
            driver.find_element(By.ID, "length").clear()
            driver.find_element(By.ID, "length").send_keys("12")
            submit_and_wait(driver, "pieces")
            rolls = driver.find_elements(By.CSS_SELECTOR, "#pieces canvas.roll")
            assert len(rolls) == 2 and all(r.get_attribute("data-steps") == "12" for r in rolls)
            link = driver.find_element(By.ID, "midi_0").get_attribute("href")
            assert link.startswith("data:audio/midi;base64,TVRoZ")  # "MThd"
            primer_file = tmp_path / "primer.mid"
            primer_file.write_bytes(midi_bytes(frames(primer, "p"), 1, 100))
            driver.find_element(By.ID, "primer").send_keys(str(primer_file))
            submit_and_wait(driver, "pieces")
            assert driver.find_element(By.ID, "roll_0").get_attribute("data-steps") == "15"
        finally:
            driver.quit()


@pytest.mark.slow
def test_captioner_captions_an_upload_and_refuses_what_is_not_an_image(tmp_path: Path) -> None:
    ckpt, predict = trained("captioner", tmp_path)
    image = Path(predict[0].split("=", 1)[1])
    with serving(ckpt, "serve.max_upload_mb=0.5") as server:
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
        too_big = server.post("/predict", files={"image": ("big.png", b"x" * 600_000, "image/png")})
        assert (too_big.status_code, too_big.json()["detail"]) == (
            413,
            "body: larger than serve.max_upload_mb=0.5 MB",
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


@pytest.mark.slow
def test_asr_transcribes_an_upload_and_a_recording_from_the_microphone(tmp_path: Path) -> None:
    ckpt, predict = trained("asr", tmp_path)
    clip = Path(predict[0].split("=", 1)[1])
    with serving(ckpt) as server:
        check_info(server, "asr", ckpt)
        files = {"audio": (clip.name, clip.read_bytes(), "audio/wav")}
        answer = server.post("/predict", files=files, data={"beam_size": "2"}).json()
        assert answer["transcript"] == predictor_of(ckpt, beam_size=2).transcribe([(clip, str(clip))])[0]
        assert answer["seconds"] > 0
        garbage = server.post("/predict", files={"audio": ("a.wav", b"RIFF....nonsense", "audio/wav")})
        assert garbage.status_code == 415 and garbage.json()["detail"].startswith(
            "audio: a.wav: not an audio file"
        )
        still_serves(server, "/predict", files=files)

        driver = browser_or_skip()
        try:
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import WebDriverWait

            open_playground(driver, server, "asr")
            driver.find_element(By.ID, "audio").send_keys(str(clip))
            assert submit_and_wait(driver, "transcript").text == (
                answer_for(server, files).strip() or "(nothing heard)"
            )
            driver.find_element(By.ID, "record").click()  # the fake microphone: a tone
            time.sleep(1.0)
            driver.find_element(By.ID, "record").click()
            WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "status").text == "recorded")
            driver.find_element(By.ID, "submit").click()
            WebDriverWait(driver, 30).until(lambda d: "answered" in d.find_element(By.ID, "status").text)
            assert driver.find_element(By.ID, "error").text == ""
        finally:
            driver.quit()


def answer_for(server: Server, files: dict[str, Any]) -> str:
    return str(server.post("/predict", files=files).json()["transcript"])


def test_every_app_has_its_server_test() -> None:
    tested = {
        name.split("_")[1] for name in globals() if name.startswith("test_") and name.split("_")[1] in APPS
    }
    assert tested == set(APPS), f"apps without a serving test: {set(APPS) - tested}"

"""Start ``lstm-apps serve`` on a tiny checkpoint in a child process, and drive a headless
Chromium (Selenium with the system's browser and driver) at its playground.

Each app's tiny model is trained once per test process (``trained``) and served once per process
and setting (``shared_server``): the generic serving test and the app's own serving tests ask the
same server. ``conftest.py`` points ``use_folder`` at the session's temporary folder and stops the
servers when the session ends."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from helpers.config import compose_config
from helpers.running import FEW
from helpers.tiny import tiny_setup
from lstm_apps.registry import Tiny

JSON = {"Content-Type": "application/json"}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
START_TIMEOUT_S = 120
PORT_ATTEMPTS = 3


def tiny_checkpoint(app: str, folder: Path) -> Path:
    """Train ``app``'s tiny setup for two steps; its ``last.ckpt``."""
    from lstm_apps.pipeline.train import train

    setup = tiny_setup(app, folder)
    train(compose_config("train", [*setup.overrides, *FEW], folder / "run"))
    return folder / "run" / "checkpoints" / "last.ckpt"


# Long enough for each tiny model to say something worth checking (a translation, tags).
TRAIN = [
    "trainer.max_epochs=15",
    "trainer.limit_val_batches=1",
    "trainer.limit_test_batches=1",
    "test_after_fit=false",
    "callbacks.early_stopping=null",
]
LIVE_SERVERS = 3  # per test process: the least recently asked is stopped beyond this
_folder: list[Path] = []
_trained: dict[str, tuple[Path, Tiny]] = {}
_servers: dict[tuple[str, tuple[str, ...]], tuple[Server, contextlib.ExitStack]] = {}


def use_folder(folder: Path) -> None:
    """Where ``trained`` writes (the session's temporary folder)."""
    _folder[:] = [folder]


def trained(app: str) -> tuple[Path, Tiny]:
    """``app``'s tiny model trained for ``TRAIN`` (once per test process): its ``last.ckpt`` and
    its tiny setup (the data files it names are beside it)."""
    if app not in _trained:
        import tempfile

        from lstm_apps.pipeline.train import train

        folder = Path(tempfile.mkdtemp(prefix=f"served-{app}-", dir=_folder[0] if _folder else None))
        setup = tiny_setup(app, folder)
        train(compose_config("train", [*setup.overrides, *TRAIN], folder / "run"))
        _trained[app] = (folder / "run" / "checkpoints" / "last.ckpt", setup)
    return _trained[app]


def shared_server(app: str, *overrides: str) -> tuple[Server, Path, Tiny]:
    """A server of ``app``'s ``trained`` model with ``overrides``, started once per test process
    and kept for the next test that asks (one that a test stopped is started again)."""
    key = (app, overrides)
    if key in _servers and _servers[key][0].process.poll() is not None:  # a test stopped it
        _servers.pop(key)[1].close()
    if key in _servers:
        _servers[key] = _servers.pop(key)  # most recently asked last
    else:
        while len(_servers) >= LIVE_SERVERS:
            _servers.pop(next(iter(_servers)))[1].close()
        ckpt, _ = trained(app)
        stack = contextlib.ExitStack()
        _servers[key] = (stack.enter_context(serving(ckpt, *overrides)), stack)
    server = _servers[key][0]
    ckpt, setup = trained(app)
    return server, ckpt, setup


@contextlib.contextmanager
def served(app: str, *overrides: str) -> Iterator[Server]:
    """``shared_server`` as a ``with`` block: the server stays up afterwards for the next test."""
    yield shared_server(app, *overrides)[0]


def stop_shared_servers() -> None:
    while _servers:
        _servers.popitem()[1][1].close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return requests.post(self.url + path, timeout=60, **kwargs)  # type: ignore[arg-type]

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=60)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serving(ckpt: Path, *overrides: str) -> Iterator[Server]:
    """``lstm-apps serve ckpt_path=ckpt`` on a free loopback port, once ``/ready`` says so; stopped
    with SIGTERM (then killed, if it hangs) on the way out. A port another process took between
    ``free_port`` and the server's start (tests run side by side) is tried again with another."""
    for attempt in range(PORT_ATTEMPTS):
        server = start_serving(ckpt, overrides)
        try:
            wait_until_ready(server)
            break
        except AssertionError:
            stop(server.process)
            if "already in use" not in server.output() or attempt == PORT_ATTEMPTS - 1:
                raise
    try:
        yield server
    finally:
        stop(server.process)


def start_serving(ckpt: Path, overrides: tuple[str, ...]) -> Server:
    port = free_port()
    log = ckpt.parent / f"serve-{port}.log"
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lstm_apps.cli.main",
                "serve",
                f"ckpt_path={ckpt}",
                f"serve.port={port}",
                "serve.accelerator=cpu",
                *overrides,
            ],
            cwd=ckpt.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    return Server(f"http://127.0.0.1:{port}", process, log)


def wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"the server exited ({server.process.returncode}):\n{server.output()[-3000:]}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + "/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"no ready server after {START_TIMEOUT_S} s:\n{server.output()[-3000:]}")


def stop(process: subprocess.Popen[str], timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    return process.returncode


def predictor_of(ckpt: Path, **options: Any) -> Any:
    """The app's predictor in this process, on the same checkpoint the server loads."""
    from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
    from lstm_apps.pipeline.predictor import predictor_for

    info = read_checkpoint(ckpt)
    predictor = predictor_for(info.app)
    return predictor(model_from_checkpoint(info), predictor.options_type(**options), "cpu")


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


def sample_request(setup: Tiny) -> dict[str, Any]:
    """The tiny setup's request as ``requests`` keywords: JSON, or multipart files and fields."""
    if setup.request_files:
        files = {field: (path.name, path.read_bytes()) for field, path in setup.request_files.items()}
        return {"files": files, "data": dict(setup.request_form or {})}
    return {"json": setup.request_json}


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


def chromium(downloads: Path | None = None):  # type: ignore[no-untyped-def]
    """A headless Chromium under Selenium, with a fake microphone that always allows recording."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1000,1000",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))

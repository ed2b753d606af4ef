"""Start ``lstm-apps serve`` on a tiny checkpoint in a child process, and drive a headless
Chromium (Selenium with the system's browser and driver) at its playground."""

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

import requests

from helpers.config import compose_config
from helpers.running import FEW
from helpers.tiny import TINY

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
START_TIMEOUT_S = 120


def tiny_checkpoint(app: str, folder: Path) -> Path:
    """Train ``app``'s tiny setup for two steps; its ``last.ckpt``."""
    from lstm_apps.pipeline.train import train

    setup = TINY[app](folder)
    train(compose_config("train", [*setup.overrides, *FEW], folder / "run"))
    return folder / "run" / "checkpoints" / "last.ckpt"


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
    """``lstm-apps serve ckpt_path=ckpt`` on a free loopback port, once ``/health`` says ok; stopped
    with SIGTERM (then killed, if it hangs) on the way out."""
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
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        stop(process)


def wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"the server exited ({server.process.returncode}):\n{server.output()[-3000:]}"
            )
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + "/health", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"no healthy server after {START_TIMEOUT_S} s:\n{server.output()[-3000:]}")


def stop(process: subprocess.Popen[str], timeout: float = 60) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    return process.returncode


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

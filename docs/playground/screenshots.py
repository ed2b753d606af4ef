"""Screenshots of each app's playground page for the app guides: ``docs/playground/<app>.png``.

    python docs/playground/screenshots.py textgen=runs/textgen/…/last.ckpt classifier=… [--out docs/playground]

For each ``app=checkpoint`` it starts ``lstm-apps serve`` on a free loopback port, opens the page
in a headless Chromium (the system's ``chromium`` and ``chromedriver``, driven by Selenium), fills
the form with the example below, waits for the answer and saves the page.
"""

from __future__ import annotations

import argparse
import base64
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def fill(driver: Any, element_id: str, text: str) -> None:
    element = driver.find_element(By.ID, element_id)
    driver.execute_script("arguments[0].value = arguments[1]", element, text)


def textgen(driver: Any, scratch: Path) -> str:
    fill(driver, "prompt", "ROMEO:\n")
    fill(driver, "max_new_tokens", "300")
    fill(driver, "seed", "1")
    return "#output[data-done]"


def seq2seq(driver: Any, scratch: Path) -> str:
    fill(driver, "source", "saturday, march 3rd 2021")
    fill(driver, "n_best", "3")
    return "attention"


def tagger(driver: Any, scratch: Path) -> str:
    fill(
        driver,
        "text",
        "El presidente de Telefónica , Juan Villalonga , viajó ayer a Barcelona para reunirse con la Generalitat .",
    )
    return "tagged"


def classifier(driver: Any, scratch: Path) -> str:
    fill(driver, "text", "a gripping , beautifully acted film that never loses its nerve")
    return "#result .bar"


def forecaster(driver: Any, scratch: Path) -> str:
    from lstm_apps.apps.forecaster.time_series import write_statsmodels_series

    lines = write_statsmodels_series("co2", scratch).read_text().strip().splitlines()
    fill(driver, "series", "\n".join([lines[0], *lines[-156:]]))  # the last three years
    return "chart"


def captioner(driver: Any, scratch: Path) -> str:
    from lstm_apps.apps.captioner.scenes import Shape, draw

    image = scratch / "scene.png"
    draw([Shape("circle", "red", True, 0, 0), Shape("square", "blue", True, 2, 2)]).save(image)
    driver.find_element(By.ID, "image").send_keys(str(image))
    return "words"


def asr(driver: Any, scratch: Path) -> str:
    clip = next(Path(ARGS.asr_clips).resolve().rglob("*.wav"))
    driver.find_element(By.ID, "audio").send_keys(str(clip))
    return "transcript"


def music(driver: Any, scratch: Path) -> str:
    fill(driver, "num_samples", "2")
    fill(driver, "length", "96")
    fill(driver, "seed", "3")
    return "pieces"


FORMS: dict[str, Callable[[Any, Path], str]] = {
    "textgen": textgen,
    "seq2seq": seq2seq,
    "tagger": tagger,
    "classifier": classifier,
    "forecaster": forecaster,
    "captioner": captioner,
    "asr": asr,
    "music": music,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def browser() -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1000,1100",
        "--hide-scrollbars",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))


def shoot(app: str, ckpt: str, out: Path, scratch: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "lstm_apps.cli.main", "serve", f"ckpt_path={ckpt}", f"serve.port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        driver = browser()
        try:
            driver.get(url + "/")
            WebDriverWait(driver, 30).until(
                lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
            )
            selector = FORMS[app](driver, scratch)
            driver.find_element(By.ID, "submit").click()
            WebDriverWait(driver, 120).until(
                lambda d: (
                    d.find_elements(By.CSS_SELECTOR, selector if selector.startswith("#") else f"#{selector}")
                    or d.find_element(By.ID, "error").text
                )
            )
            if app == "captioner":
                words = driver.find_elements(By.CSS_SELECTOR, "#words button")
                colours = [
                    w for w in words if w.text in ("red", "blue", "green", "yellow", "orange", "purple")
                ]
                if colours or words:
                    (colours or words)[0].click()
            height = int(driver.execute_script("return document.documentElement.scrollHeight"))
            shot = driver.execute_cdp_cmd(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": 1000, "height": min(height + 24, 1800), "scale": 1},
                },
            )
            (out / f"{app}.png").write_bytes(base64.b64decode(shot["data"]))
            print(f"{app}: {out / f'{app}.png'}", flush=True)
        finally:
            driver.quit()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoints", nargs="+", help="app=checkpoint")
    parser.add_argument("--out", default=str(Path(__file__).parent))
    parser.add_argument("--asr-clips", default="data", help="a folder with WAV clips (asr)")
    global ARGS
    ARGS = parser.parse_args()
    out = Path(ARGS.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for pair in ARGS.checkpoints:
            app, _, ckpt = pair.partition("=")
            shoot(app, ckpt, out, Path(scratch))


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()

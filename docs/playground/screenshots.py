"""Screenshots of each app's playground page for the app guides: ``docs/playground/<app>.png``.

    python docs/playground/screenshots.py textgen=runs/textgen/…/last.ckpt classifier=… [--out docs/playground]

For each ``app=checkpoint`` it starts ``lstm-apps serve`` on a free loopback port, opens the page
in a headless Chromium (the system's ``chromium`` and ``chromedriver``, driven by Selenium), fills
the form with the app's example (its ``App.example``: a realistic input, files made in a scratch
folder), waits for the answer and saves the page.
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
from pathlib import Path
from typing import Any

import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from lstm_apps.registry import apps


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
            example = apps()[app].example
            if example is None:
                raise SystemExit(f"{app}: its App names no playground example")
            for step in example.steps:
                step.apply(driver, scratch)
            driver.find_element(By.ID, "submit").click()
            WebDriverWait(driver, 120).until(
                lambda d: (
                    d.find_elements(By.CSS_SELECTOR, example.answer) or d.find_element(By.ID, "error").text
                )
            )
            for step in example.after:
                step.apply(driver, scratch)
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
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for pair in args.checkpoints:
            app, _, ckpt = pair.partition("=")
            shoot(app, ckpt, out, Path(scratch))


if __name__ == "__main__":
    main()

"""A server as a deployment meets it: a flood against a small queue, a request not answered in time,
a model process killed as the OOM killer would (and killed again), several models behind one port;
and the parts that decide these, without a server."""

from __future__ import annotations

import concurrent.futures
import inspect
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from helpers.serving import Server, serving, trained
from helpers.tiny import tiny_setup
from lstm_apps.errors import UserError
from lstm_apps.registry import apps
from lstm_apps.serving.routes import models_to_serve
from lstm_apps.serving.server import endpoints_for, playground_script
from lstm_apps.serving.settings import ServeSettings
from lstm_apps.serving.workers import ModelProcess, Supervisor, WorkerBoard, how_it_ended


def model_process(server: Server, path: str) -> int:
    pids = server.get("/info").json()["server"]["model_processes"][path]
    assert len(pids) == 1, pids
    return int(pids[0])


def wait_ready(server: Server, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while server.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, server.output()[-2000:]
        time.sleep(0.2)


def metric(server: Server, line_start: str) -> float:
    lines = [line for line in server.get("/metrics").text.splitlines() if line.startswith(line_start)]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


@pytest.mark.serves("textgen")
def test_a_flood_a_timeout_and_a_killed_model_process_answer_503_504_and_503_then_serving_goes_on() -> None:
    ckpt, _ = trained("textgen")
    short = {"prompt": "th", "max_new_tokens": 5}
    with serving(ckpt, "serve.max_queue=2", "serve.max_batch_size=1", "serve.request_timeout=4") as server:
        assert server.get("/health").text == "ok" and server.get("/ready").text == "ready"
        worker = model_process(server, "/predict")

        # A flood while the model process is stopped: two requests wait, the rest are refused at once.
        os.kill(worker, signal.SIGSTOP)
        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            flood = [pool.submit(server.post, "/predict", json=short) for _ in range(10)]
            deadline = time.monotonic() + 30
            while sum(f.done() for f in flood) < 8 and time.monotonic() < deadline:
                time.sleep(0.05)
            refused = [f.result() for f in flood if f.done()]
            os.kill(worker, signal.SIGCONT)
            answers = [f.result() for f in flood]
        assert len(refused) == 8 and {r.status_code for r in refused} == {503}, [r.text for r in refused]
        assert refused[0].headers["Retry-After"] == "1" and "serve.max_queue" in refused[0].json()["detail"]
        assert Counter(r.status_code for r in answers) == {503: 8, 200: 2}
        assert metric(server, 'lstm_apps_requests_total{code="503",route="/predict"}') == 8

        # Not answered within serve.request_timeout: 504 naming it; then the next request is answered.
        os.kill(worker, signal.SIGSTOP)
        began = time.monotonic()
        late = server.post("/predict", json=short)
        os.kill(worker, signal.SIGCONT)
        assert late.status_code == 504 and "serve.request_timeout=4" in late.json()["detail"], late.text
        assert 3.5 < time.monotonic() - began < 30
        assert server.post("/predict", json=short).status_code == 200

        # Killed while it decodes a long request (about 1 s alone): that request is answered 503 at
        # once, a new process loads the checkpoint, and the next requests are answered by it.
        held: list[requests.Response] = []
        long = threading.Thread(
            target=lambda: held.append(server.post("/predict", json={"prompt": "th", "max_new_tokens": 5000}))
        )
        long.start()
        deadline = time.monotonic() + 30
        while metric(server, 'lstm_apps_requests_decoding{route="/predict"}') < 1:  # taken
            assert time.monotonic() < deadline and long.is_alive()
            time.sleep(0.01)
        os.kill(worker, signal.SIGKILL)
        long.join(30)
        assert held and held[0].status_code == 503, held
        assert "killed by SIGKILL" in held[0].json()["detail"]
        # The app's other endpoint has a model process of its own, which answers meanwhile.
        assert server.post("/stream", json=short).status_code == 200
        wait_ready(server)
        replaced = model_process(server, "/predict")
        assert replaced != worker and server.post("/predict", json=short).status_code == 200
        assert metric(server, 'lstm_apps_model_restarts_total{route="/predict"}') == 1
        assert server.process.poll() is None

        # Killed again within serve.restart_window: the server stops, one line, exit code 3.
        os.kill(replaced, signal.SIGKILL)
        assert server.process.wait(60) == 3
        output = server.output()
        assert "Traceback" not in output, output[-3000:]
        assert (
            output.strip()
            .splitlines()[-1]
            .startswith(
                "lstm-apps: error: serving stopped: the model process answering /predict killed by SIGKILL again"
            )
        ), output[-2000:]
        assert "serve.restart_window=60 s" in output


def endpoint_answer(app: str, ckpt: Path, request: dict[str, Any]) -> Any:
    """What ``app``'s first endpoint answers ``request`` in this process (through its predictor,
    as in a model process), as JSON would carry it."""
    api = endpoints_for(app)[0](str(ckpt), ServeSettings(cpu_threads=1))
    api.setup("cpu")
    request_type = inspect.signature(api.decode_request).parameters["request"].annotation
    return json.loads(json.dumps(api.answer([api.decode_request(request_type.model_validate(request))])[0]))


def close(served: Any, expected: Any) -> bool:
    """Equal, numbers to 1e-5 (the server's model process may use other torch threads)."""
    if isinstance(expected, dict):
        return (
            isinstance(served, dict)
            and served.keys() == expected.keys()
            and all(close(served[k], expected[k]) for k in expected)
        )
    if isinstance(expected, list):
        return isinstance(served, list) and len(served) == len(expected) and all(map(close, served, expected))
    if isinstance(expected, float):
        return served == pytest.approx(expected, rel=1e-5, abs=1e-6)
    return bool(served == expected)


def two_steady_apps() -> list[tuple[str, Path, dict[str, Any]]]:
    """The first two apps (by name) whose tiny model answers its JSON sample request the same
    twice (no sampling): their checkpoints, requests and answers in this process."""
    found = []
    for app in sorted(apps()):
        with tempfile.TemporaryDirectory() as scratch:
            if tiny_setup(app, Path(scratch)).request_json is None:  # an upload: not trained for nothing
                continue
        ckpt, setup = trained(app)
        assert setup.request_json is not None
        first = endpoint_answer(app, ckpt, setup.request_json)
        if first == endpoint_answer(app, ckpt, setup.request_json):
            found.append((app, ckpt, setup.request_json, first))
        if len(found) == 2:
            return [(app, ckpt, request) for app, ckpt, request, _ in found]
    raise AssertionError(f"fewer than two apps answer their sample requests steadily: {found}")


@pytest.mark.serves("classifier")
def test_two_apps_behind_one_server_answer_as_their_endpoints_do_alone(tmp_path: Path) -> None:
    chosen = two_steady_apps()
    routes = tmp_path / "routes.yaml"
    routes.write_text("".join(f"{app}-model: {ckpt}\n" for app, ckpt, _ in chosen))
    expected = {app: endpoint_answer(app, ckpt, request) for app, ckpt, request in chosen}
    (first, first_ckpt, first_request), (second, second_ckpt, _) = chosen
    with serving(routes, "serve.max_batch_size=4") as server:
        for app, _, request in chosen:
            answer = server.post(f"/{app}-model/predict", json=request)
            assert answer.status_code == 200 and close(answer.json(), expected[app]), (
                answer.text,
                expected[app],
            )
        assert server.post("/predict", json=first_request).status_code == 404  # no model at the root

        paths = server.get("/openapi.json").json()["paths"]
        assert {f"/{app}-model/{leaf}" for app, _, _ in chosen for leaf in ("predict", "info")} <= set(paths)
        info = server.get("/info").json()["model"]["models"]
        assert {name: model["app"] for name, model in info.items()} == {f"{a}-model": a for a, _, _ in chosen}
        assert server.get(f"/{second}-model/info").json()["model"]["checkpoint"] == str(second_ckpt)
        index = server.get("/").text
        assert f'href="/{first}-model/"' in index and f"/{second}-model/predict" in index
        page = server.get(f"/{second}-model/").text
        assert f'<base href="/{second}-model/">' in page and 'src="playground/app.js"' in page
        own_form = playground_script(second).read_text()
        assert server.get(f"/{second}-model/playground/app.js").text == own_form
        assert server.get(f"/{first}-model/playground/playground.css").status_code == 200
        scraped = server.get("/metrics").text
        assert f'lstm_apps_requests_total{{code="200",route="/{first}-model/predict"}} 1.0' in scraped
        assert f'lstm_apps_queue_depth{{route="/{second}-model/predict"}} 0.0' in scraped
        assert f'lstm_apps_model_processes_ready{{route="/{first}-model/predict"}} 1.0' in scraped
    assert first_ckpt.is_file()


def test_checkpoints_named_by_a_list_or_a_routes_file(tmp_path: Path) -> None:
    (first, films, _), (second, names, _) = two_steady_apps()
    assert [(m.name, m.prefix) for m in models_to_serve([str(films), str(names)])] == [
        (first, f"/{first}"),
        (second, f"/{second}"),
    ]
    assert [(m.name, m.prefix) for m in models_to_serve(str(films))] == [("", "")]
    with pytest.raises(UserError, match=rf"both {first} models; name their routes in a YAML file"):
        models_to_serve([str(films), str(films)])
    routes = tmp_path / "routes.yaml"
    routes.write_text("news: a.ckpt\n")
    with pytest.raises(UserError, match=r"a\.ckpt"):  # relative to the routes file, and it is not there
        models_to_serve(str(routes))
    routes.write_text(f"metrics: {films}\n")
    with pytest.raises(UserError, match=r"'metrics' is not a route name"):
        models_to_serve(str(routes))
    routes.write_text("- a.ckpt\n")
    with pytest.raises(UserError, match=r"'name: checkpoint' lines"):
        models_to_serve(str(routes))


def test_a_board_keeps_what_a_process_holds_and_whether_it_is_ready() -> None:
    board = WorkerBoard(multiprocessing.get_context("spawn"), workers=2, max_batch=3)
    assert not board.all_ready() and board.held(0) == []
    uids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(4)]
    board.hold(1, [(0, uids[0]), (2, uids[1])])
    board.set_ready(1, 4321)
    assert board.held(1) == [(0, uids[0]), (2, uids[1])] and board.held(0) == []
    assert board.ready(1) and not board.ready(0) and board.process_ids() == [4321]
    board.hold(1, [(0, u) for u in uids])  # more than a batch: the batch's worth is kept
    assert len(board.held(1)) == 3
    board.hold(1, [])
    assert board.held(1) == [] and board.ready(1)
    board.reset(1)
    assert not board.ready(1) and board.process_ids() == []


class DeadProcess:
    name = "inference-worker"

    def __init__(self, exitcode: int) -> None:
        self.exitcode = exitcode

    def is_alive(self) -> bool:
        return False


def test_the_supervisor_replaces_a_dead_process_once_and_stops_on_a_quick_second_death() -> None:
    board = WorkerBoard(multiprocessing.get_context("spawn"), workers=1, max_batch=2)
    uid = "00000000-0000-4000-8000-000000000000"
    board.hold(0, [(1, uid)])
    api: Any = type("Api", (), {"api_path": "/predict", "stream": False, "board": board})()
    entry = ModelProcess(api, 0, DeadProcess(-signal.SIGKILL))  # type: ignore[arg-type]
    answered: list[tuple[int, list[Any]]] = []
    stopped: list[str] = []
    supervisor = Supervisor(
        [entry],
        [],
        restart_window=60,
        start_worker=lambda api, worker: DeadProcess(1),  # type: ignore[arg-type,return-value]
        answer=lambda front_end, items: answered.append((front_end, items)),
        stop=stopped.append,
        stopping=lambda: bool(stopped),
    )
    assert supervisor.replace(entry) and not stopped
    ((front_end, [(answered_uid, (error, _, _, _))]),) = answered
    assert (front_end, answered_uid, error.status_code) == (1, uid, 503)
    assert "killed by SIGKILL" in error.detail and board.held(0) == []
    assert not supervisor.replace(entry)  # the replacement died at once
    assert stopped == [stopped[0]] and "exited with code 1 again 0 s after it was replaced" in stopped[0]
    assert how_it_ended(-9) == "killed by SIGKILL" and how_it_ended(0) == "exited with code 0"


def test_a_port_in_use_is_one_line_before_anything_loads(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "lstm_apps.cli.main", "serve", f"ckpt_path={tmp_path / 'none.ckpt'}",
             f"serve.port={port}"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        f"lstm-apps: error: serve.port={port}: 127.0.0.1:{port} is taken (Address already in use); "
        "stop what listens there or choose another port"
    )

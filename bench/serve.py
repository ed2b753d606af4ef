"""What dynamic batching buys a served model: requests per second and p50/p99 latency at 1, 8 and
32 concurrent HTTP clients, batching off (``serve.max_batch_size=1``) and on, for the classifier,
the tagger and seq2seq, each with its recipe's model size (SST-2, CoNLL, Multi30k) on synthetic
data with a recipe-sized vocabulary (weights untrained: speed does not depend on them).

    python bench/serve.py [--apps classifier tagger seq2seq] [--clients 1 8 32]
                          [--requests 2000] [--seconds 8] [--batch 32] [--int8 classifier tagger seq2seq]

Each client is a thread with its own keep-alive connection that sends its next request when the
last one is answered (a closed loop); a point ends after ``--requests`` answers or ``--seconds``,
whichever comes first, after a warm-up of a few requests. Both servers run at once and each point
is measured on them in turn, ``--repeats`` times; the best is kept. The ``--int8`` apps are measured
a second time with ``serve.quantize=int8`` (CPU only). Loopback only. Writes the table into
``bench/results.md`` (section "serving: dynamic batching") and prints it.

Overload (``--overload APP``, section "serving: overload"): the server with its default
``serve.max_queue`` and ``serve.request_timeout``; its capacity measured with 32 closed-loop
clients, then an open-loop flood at ``--overload-factor`` (4) times that rate for
``--overload-seconds`` (30): the accepted requests' p50/p99 latency, the share answered 503, the
server's peak memory (all its processes) against before the flood, and a closed-loop run after it,
which must be answered as before.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from lstm_apps.registry import apps

HERE = Path(__file__).resolve().parent
VOCABULARY = 8000  # words; Multi30k's word vocabulary is about this size, SST-2's 14k
QUIET = ["callbacks=minimal", "trainer.enable_progress_bar=false", "trainer.num_sanity_val_steps=0"]
ONE_STEP = [
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=1",
    "trainer.limit_val_batches=1",
    "test_after_fit=false",
]


def words(rng: random.Random, low: int, high: int) -> list[str]:
    """A sentence of Zipf-distributed synthetic words."""
    return [f"w{min(int(rng.paretovariate(1.0)) - 1, VOCABULARY - 1)}" for _ in range(rng.randint(low, high))]


def sentences(count: int, seed: int, low: int = 8, high: int = 30) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(words(rng, low, high)) for _ in range(count)]


# The apps with a served model to measure (their ``Bench.serve``), as the registry declares them.
SERVED = {name: spec.bench.serve for name, spec in apps().items() if spec.bench and spec.bench.serve}
ROLES = ("model", "front end", "client")  # the processes whose CPU a point reports, in its columns


def label(app: str, quantize: str) -> str:
    """An app's name in the table, with its recurrent layers' precision where not float32."""
    return app if quantize == "none" else f"{app} ({quantize})"


def checkpoint(app: str, folder: Path) -> tuple[Path, Callable[[str], dict]]:
    serve = SERVED[app]
    overrides, request = apps()[app].part(serve.setup)(folder, sentences)
    run = folder / "run"
    if (run / "checkpoints" / "last.ckpt").is_file():  # trained for an earlier variant
        return run / "checkpoints" / "last.ckpt", request
    command = [
        sys.executable,
        "-m",
        "lstm_apps.cli.main",
        "train",
        *overrides,
        *QUIET,
        *ONE_STEP,
        f"hydra.run.dir={run}",
    ]
    subprocess.run(command, check=True, capture_output=True, cwd=folder)
    return run / "checkpoints" / "last.ckpt", request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    ckpt: Path, batch: int, accelerator: str = "cpu", quantize: str = "none", *more: str
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (ckpt.parent / f"serve-{batch}-{quantize}{'-'.join(['', *more]).replace('=', '')}.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lstm_apps.cli.main",
            "serve",
            f"ckpt_path={ckpt}",
            f"serve.port={port}",
            f"serve.max_batch_size={batch}",
            f"serve.accelerator={accelerator}",
            f"serve.quantize={quantize}",
            *more,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: see {log.name}")
        try:
            if requests.get(url + "/ready", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit("the server did not come up")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def cpu_seconds(server: int) -> dict[str, float]:
    """CPU seconds so far (user + system) of the server's model processes (spawned), its other
    processes (the HTTP front ends, forked; the idle bookkeeping ones too) and this client
    process, from /proc (Linux); empty elsewhere."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def used(pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    try:
        children = [
            int(child)
            for task in Path(f"/proc/{server}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
        spent = {"model": 0.0, "front end": used(server), "client": used(os.getpid())}
        for child in children:
            role = "model" if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes() else "front end"
            spent[role] += used(child)
    except OSError:
        return {}
    return spent


def load(url: str, bodies: list[dict], clients: int, total: int, seconds: float) -> dict[str, float]:
    """``clients`` closed-loop clients until ``total`` answers or ``seconds``; latencies in ms."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    issued = [0]
    stop_at = time.monotonic() + seconds

    host, port = url.removeprefix("http://").split(":")
    encoded = [json.dumps(body).encode() for body in bodies]
    headers = {"Content-Type": "application/json"}

    def client(index: int) -> None:
        # http.client on one keep-alive connection: a real HTTP client that spends little of the
        # two cores the server shares with it.
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        while time.monotonic() < stop_at:
            with lock:
                if issued[0] >= total:
                    break
                issued[0] += 1
                body = encoded[issued[0] % len(encoded)]
            started = time.perf_counter()
            connection.request("POST", "/predict", body, headers)
            answer = connection.getresponse()
            answer.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if answer.status == 200:
                    latencies.append(elapsed)
                else:
                    failures[0] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "answers": len(latencies),
        "failures": failures[0],
        "throughput": len(latencies) / wall,
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
    }


def tree_pss_mb(pid: int) -> float:
    """Proportional memory (each shared page divided among the processes sharing it, so that forked
    and spawned processes are not counted twice) of ``pid`` and every process below it, in MB
    (Linux /proc; 0 elsewhere)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, StopIteration):
            continue
    return total / 1024


def open_loop(
    url: str, bodies: list[dict], rate: float, seconds: float, threads: int = 256
) -> dict[str, Any]:
    """Requests sent at ``rate`` per second for ``seconds``, whether or not earlier ones were
    answered (an open loop: a flood does not wait for the server), from ``threads`` keep-alive
    connections; the accepted ones' latencies in ms and the count of each status."""
    host, port = url.removeprefix("http://").split(":")
    encoded = [json.dumps(body).encode() for body in bodies]
    headers = {"Content-Type": "application/json"}
    lock = threading.Lock()
    sent = [0]
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    began = time.monotonic() + 0.5
    ends = began + seconds

    def sender() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=300)
        while True:
            with lock:
                index = sent[0]
                sent[0] += 1
            due = began + index / rate
            if due >= ends:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            started = time.perf_counter()
            try:
                connection.request("POST", "/predict", encoded[index % len(encoded)], headers)
                answer = connection.getresponse()
                answer.read()
                status = str(answer.status)
            except (OSError, http.client.HTTPException):
                status = "connection error"
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=300)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                statuses[status] += 1
                if status == "200":
                    latencies.append(elapsed)
        connection.close()

    pool = [threading.Thread(target=sender) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.monotonic() - began
    ordered = sorted(latencies) or [float("nan")]
    return {
        "offered": sum(statuses.values()) / wall,
        "statuses": dict(statuses),
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "accepted_per_s": len(latencies) / wall,
    }


def flood(app: str, args: argparse.Namespace, folder: Path, queue: int) -> dict[str, Any]:
    """One server of ``app`` with ``serve.max_queue=queue``: its capacity, the flood, and a closed
    loop after it; the memory before and at its peak during the flood."""
    ckpt, request = checkpoint(app, folder)
    low, high = SERVED[app].request_words
    bodies = [request(text) for text in sentences(500, 11, low, high)]
    process, url = start_server(ckpt, args.batch, args.accelerator, "none", f"serve.max_queue={queue}")
    peak = [0.0]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.25):
            peak[0] = max(peak[0], tree_pss_mb(process.pid))

    try:
        load(url, bodies, 4, 16, 30)  # warm-up
        capacity = load(url, bodies, 32, 10**9, args.seconds)
        before = tree_pss_mb(process.pid)
        sampler = threading.Thread(target=sample)
        sampler.start()
        target = args.overload_factor * capacity["throughput"]
        # More connections than the server holds requests (its queue and a batch): the rest are
        # free to be refused, as a flood's would be.
        connections = 2 * (queue + args.batch)
        flooded = open_loop(url, bodies, target, args.overload_seconds, connections)
        sampling.set()
        sampler.join()
        after = load(url, bodies, 32, 10**9, args.seconds)
        timeout = requests.get(url + "/info", timeout=10).json()["server"]["request_timeout"]
    finally:
        stop_server(process)
    return {
        "queue": queue,
        "capacity": capacity,
        "flood": flooded,
        "after": after,
        "target": target,
        "connections": connections,
        "memory": before,
        "peak": peak[0],
        "timeout": timeout,
    }


def overload(app: str, args: argparse.Namespace, folder: Path) -> str:
    """The "serving: overload" section for ``app``: per queue size, capacity, flood, afterwards."""
    import torch

    runs = [flood(app, args, folder, queue) for queue in args.overload_queues]
    where = (
        f"one {torch.cuda.get_device_name()} GPU"
        if args.accelerator == "cuda"
        else f"this machine's CPU ({os.cpu_count()} cores, shared with the clients)"
    )
    lines = [
        "## serving: overload",
        "",
        f"`python bench/serve.py --overload {app}` — `lstm-apps serve` of the {app} (the model of the table "
        f"above) on {where}, torch {torch.__version__}, `serve.request_timeout={runs[0]['timeout']:g}` (the "
        f"default), batching up to {args.batch}; one server per `serve.max_queue`. Capacity: 32 closed-loop "
        f"clients for {args.seconds:g} s. Flood: requests sent at {args.overload_factor:g}x that rate for "
        f"{args.overload_seconds:g} s whether or not earlier ones were answered (an open loop, from twice as many "
        "connections as the server holds requests). Afterwards: 32 closed-loop clients again. Memory: "
        "proportional set size (PSS) of all the server's processes, before the flood and at its peak.",
        "",
        "| `serve.max_queue` | load | sent/s | answered/s | p50 ms | p99 ms | answered 503 | other failures | memory MB |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in runs:
        capacity, flooded, after = run["capacity"], run["flood"], run["after"]
        statuses = flooded["statuses"]
        answered = sum(statuses.values())
        others = sum(v for k, v in statuses.items() if k not in {"200", "503"})
        queue = run["queue"]
        lines += [
            f"| {queue} | capacity | | {capacity['throughput']:.1f} | {capacity['p50']:.0f} | {capacity['p99']:.0f} "
            f"| 0 | {capacity['failures']} | {run['memory']:.0f} |",
            f"| {queue} | flood (target {run['target']:.1f}/s) | {flooded['offered']:.1f} | "
            f"{flooded['accepted_per_s']:.1f} | {flooded['p50']:.0f} | {flooded['p99']:.0f} | "
            f"{statuses.get('503', 0) / answered:.1%} | {others} | {run['peak']:.0f} |",
            f"| {queue} | afterwards | | {after['throughput']:.1f} | {after['p50']:.0f} | {after['p99']:.0f} | 0 "
            f"| {after['failures']} | |",
        ]
    lines.append("")
    return "\n".join(lines)


def measure(
    app: str, args: argparse.Namespace, folder: Path, quantize: str = "none"
) -> list[tuple[str, int, dict[str, float]]]:
    """Both servers (batching off and on) up at once, each point measured on them in turn,
    ``--repeats`` times, the best kept: machine noise hits both alike."""
    ckpt, request = checkpoint(app, folder)
    low, high = SERVED[app].request_words
    bodies = [request(text) for text in sentences(500, 7, low, high)]
    servers = {
        "off": start_server(ckpt, 1, args.accelerator, quantize),
        "on": start_server(ckpt, args.batch, args.accelerator, quantize),
    }
    best: dict[tuple[str, int], dict[str, float]] = {}
    try:
        for _, url in servers.values():
            load(url, bodies, 4, 16, 30)  # warm-up: first calls allocate
        for clients in args.clients:
            for _ in range(args.repeats):
                for mode, (_, url) in servers.items():
                    process = servers[mode][0]
                    before, began = cpu_seconds(process.pid), time.perf_counter()
                    result = load(url, bodies, clients, args.requests, args.seconds)
                    after, wall = cpu_seconds(process.pid), time.perf_counter() - began
                    for role in after.keys() & before.keys():  # cores each kind of process kept busy
                        result[f"cpu {role}"] = (after[role] - before[role]) / wall
                    kept = best.get((mode, clients))
                    if kept is None or result["throughput"] > kept["throughput"]:
                        best[(mode, clients)] = {
                            **result,
                            "p50": min(result["p50"], kept["p50"]) if kept else result["p50"],
                        }
                    elif result["p50"] < kept["p50"]:
                        kept["p50"] = result["p50"]
            for mode in servers:
                r = best[(mode, clients)]
                print(
                    f"{label(app, quantize)} batching={mode} clients={clients}: {r['throughput']:.1f} req/s, "
                    f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms",
                    flush=True,
                )
    finally:
        for process, _ in servers.values():
            stop_server(process)
    return [(mode, clients, best[(mode, clients)]) for mode in servers for clients in args.clients]


def table(results: dict[str, list[tuple[str, int, dict[str, float]]]], args: argparse.Namespace) -> str:
    import torch

    if args.accelerator == "cuda":
        heading = "## serving: dynamic batching on GPU"
        where = f"one {torch.cuda.get_device_name()} GPU (CUDA {torch.version.cuda})"
    else:
        heading = "## serving: dynamic batching"
        where = f"this machine's CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    lines = [
        heading,
        "",
        f"`python bench/serve.py --accelerator {args.accelerator}` — `lstm-apps serve` on {where}; "
        f"torch {torch.__version__}, Python {platform.python_version()}; loopback HTTP, "
        f"closed-loop clients (each sends its next request when answered), at most {args.requests} answers or "
        f"{args.seconds:g} s per point after a warm-up; both servers up at once and measured in turn, best of "
        f"{args.repeats} (the highest throughput, the lowest p50). Batching off: `serve.max_batch_size=1`; on: "
        f"`serve.max_batch_size={args.batch}` with `serve.batch_timeout=0` (a model process takes every request "
        "queued while it was busy). Models of the recipes' sizes: classifier BiLSTM 256 + attention, 300-d "
        "embeddings; tagger char BiLSTM 2 x 25 + BiLSTM 100 + CRF; seq2seq 2 x 512 LSTM encoder-decoder with "
        "attention, beam 5; vocabularies of about 8,000 words; requests as long as the recipes' test sentences "
        "on average (classifier 8-31 words, tagger 10-58, seq2seq 5-17). Cores busy: CPU seconds per second of "
        "the point, from /proc, of the model process, the HTTP front end and this client. Rows marked (int8): the "
        "same checkpoint served with `serve.quantize=int8` (int8 recurrent layers).",
        "",
        "| app | batching | clients | requests/s | p50 ms | p99 ms | cores busy: model / front end / client |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    summary = []
    for name, rows in results.items():
        for mode, clients, r in rows:
            busy = " / ".join(f"{r[f'cpu {role}']:.2f}" for role in ROLES) if f"cpu {ROLES[0]}" in r else "—"
            lines.append(
                f"| {name} | {mode} | {clients} | {r['throughput']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | {busy} |"
            )
        by = {(mode, clients): r for mode, clients, r in rows}
        most, least = max(args.clients), min(args.clients)
        if ("on", most) in by and ("off", most) in by and ("on", least) in by and ("off", least) in by:
            gain = by[("on", most)]["throughput"] / by[("off", most)]["throughput"]
            slower = by[("on", least)]["p50"] / by[("off", least)]["p50"] - 1
            summary.append(
                f"- {name}: batching gives **{gain:.1f}x** the throughput at {most} clients; "
                f"p50 at {least} client {slower:+.0%} with batching on"
            )
        app = name.split(" ")[0]
        if name != app and app in results:  # int8 against the same app in float32
            float32 = {(mode, clients): r for mode, clients, r in results[app]}
            if ("on", most) in by and ("on", most) in float32:
                ratio = by[("on", most)]["throughput"] / float32[("on", most)]["throughput"]
                summary.append(
                    f"- {name}: {ratio:.1f}x the float32 throughput at {most} clients, batching on"
                )
    return "\n".join([*lines, "", *summary, ""])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", nargs="*", choices=list(SERVED), default=list(SERVED))
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=2000, help="answers per point at most")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per point at most")
    parser.add_argument("--batch", type=int, default=32, help="serve.max_batch_size with batching on")
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs of each point, in turn; the best is kept"
    )
    parser.add_argument(
        "--accelerator",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where the served models run (serve.accelerator)",
    )
    parser.add_argument(
        "--int8",
        nargs="*",
        choices=list(SERVED),
        default=list(SERVED),
        help="apps measured again with serve.quantize=int8 (CPU only; none: --int8 alone)",
    )
    parser.add_argument(
        "--overload",
        nargs="*",
        choices=list(SERVED),
        default=["classifier"],
        help="apps flooded (none: --overload alone)",
    )
    parser.add_argument(
        "--overload-factor", type=float, default=4.0, help="the flood's rate, times the capacity"
    )
    parser.add_argument("--overload-seconds", type=float, default=30.0)
    parser.add_argument(
        "--overload-queues",
        nargs="+",
        type=int,
        default=[256, 32],
        help="serve.max_queue of each flooded server",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    args = parser.parse_args()
    results = {}
    sections = []
    with tempfile.TemporaryDirectory() as scratch:
        for app in args.apps:
            folder = Path(scratch) / app
            folder.mkdir()
            results[app] = measure(app, args, folder)
            if app in args.int8 and args.accelerator == "cpu":
                results[label(app, "int8")] = measure(app, args, folder, "int8")
        for app in args.overload:
            folder = Path(scratch) / app
            folder.mkdir(exist_ok=True)
            sections.append(overload(app, args, folder))
    text = "\n".join([table(results, args)] if results else []) + "".join("\n" + s for s in sections)
    print(text)
    if not args.no_write:
        sys.path.insert(0, str(HERE))
        from run import merge_results

        path = HERE / "results.md"
        path.write_text(merge_results(path, ([table(results, args)] if results else []) + sections))


if __name__ == "__main__":
    main()

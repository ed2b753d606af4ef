"""What this project reaches on one GPU, in a known time: the throughput table of every app, then
the results pages' recipes trained side by side on the same GPU, each within the budget.

    python bench/gpu.py [--budget 540] [--datasets ../shared/datasets] [--device cuda]
                        [--recipes seq2seq_multi30k music_jsb …] [--no-throughput] [--out bench/gpu_runs]

0. Before any of the budget is spent: the project's commands and apps import (else one line naming
   the missing package, exit 2), and each recipe's optional packages are there (else its row
   names them and it is not run).
1. Throughput (``bench/run.py --only-training``, every app, short windows; on a GPU with the
   tagger's batch-10 case too): a share of the budget, into ``--bench-results`` (bench/results.md).
2. Data: each recipe's ``lstm-apps prepare`` from ``--datasets`` (``file://`` only: nothing is
   downloaded), before and outside the timed part.
3. Recipes: one ``lstm-apps train`` process per recipe, all started together on the one device
   (except those that start from another recipe's checkpoint — the fine-tuning comparison's
   classifier from its language models — which start when those end), each with
   ``trainer.max_time`` set so that every run (and its test) ends inside the budget; a process
   still running at the deadline is stopped. A log per recipe in ``--out/<recipe>.log``.
4. Rows: device, torch/CUDA versions, wall time, training throughput (optimizer steps and examples
   per second in fit, from the run's ``metrics.json`` and ``config.yaml``) and the metric as the results page defines it,
   into ``bench/results_gpu.md`` and, for each recipe that measured, the summary table of
   ``docs/results.md`` (where its row says "not yet run on a GPU"). A failing recipe is reported
   in its row and the others go on.

``--recipes-file recipes.json`` replaces the built-in table (a list of ``Recipe`` fields: ``name``,
``train``, ``metric``, ``prepare``, ``setup``, ``after``, ``share``): the tests drive tiny recipes
this way on a CPU (``--device cpu --budget 45``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from lstm_apps.registry import Recipe, apps

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench/run.py, for the apps it measures
ROOT = HERE.parent
THROUGHPUT_SHARE = 0.15  # of the budget, for step 1
TEST_MARGIN_S = 45.0  # left after trainer.max_time for the test run, the checkpoint and the exit
TEST_MARGIN_SHARE = 0.25  # … or this share of the training time, if smaller (short budgets)
NOT_YET = "not yet run on a GPU"
STOP_GRACE_S = 20.0  # for the runs still going at the deadline to write their checkpoints, together


def built_in_recipes() -> list[Recipe]:
    """Every app's rows of the results pages (its ``App.recipes``), app by app."""
    return [recipe for spec in apps().values() for recipe in spec.recipes]


def as_max_time(seconds: float) -> str:
    total = max(1, int(seconds))
    return f"00:{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def missing_requirements(recipes: list[Recipe]) -> tuple[str | None, dict[str, str]]:
    """What cannot run here, found before any of the budget is spent: a package the project itself
    needs (the whole run stops with one line), and each recipe's optional packages (the recipe is
    reported and left out)."""
    import importlib

    try:
        for module in ("lstm_apps.cli.prepare", "lstm_apps.cli.train"):
            importlib.import_module(module)
        for spec in apps().values():
            for part in ("datamodule", "model"):
                importlib.import_module(f"{spec.package}.{part}")
    except ModuleNotFoundError as error:
        return (
            f"cannot start: {error}, which lstm-apps needs "
            "(pip install -e . in the project's root installs what it needs)",
            {},
        )
    from lstm_apps.extras import install_hint, missing_modules

    failed: dict[str, str] = {}
    for recipe in recipes:
        missing = {extra: missing_modules(extra) for extra in recipe.extras}
        needs = [f"{', '.join(m)} ({install_hint(extra)})" for extra, m in missing.items() if m]
        if needs:
            failed[recipe.name] = f"needs {'; '.join(needs)}, not run"
    return None, failed


def device_line(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        name = f"{torch.cuda.get_device_name()}, CUDA {torch.version.cuda}"
    else:
        name = f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    return f"{name}; torch {torch.__version__}, Python {platform.python_version()}"


def prepare(recipes: list[Recipe], datasets: Path, data_dir: Path, out: Path) -> dict[str, str]:
    """Each distinct preparation once, from ``file://`` folders; recipe name -> why it failed."""
    failed: dict[str, str] = {}
    done: dict[tuple[str, str], str | None] = {}
    for recipe in recipes:
        for app, dataset, folder in recipe.prepare:
            key = (app, dataset)
            if key not in done:
                log = out / f"prepare-{app}-{dataset}.log"
                command = [
                    sys.executable, "-m", "lstm_apps.cli.main", "prepare", app, dataset,
                    "--base-url", (datasets / folder).resolve().as_uri(), "--out-dir", str(data_dir / app),
                ]  # fmt: skip
                with log.open("w") as sink:
                    code = subprocess.run(
                        command, stdout=sink, stderr=subprocess.STDOUT, check=False
                    ).returncode
                done[key] = None if code == 0 else f"prepare {app} {dataset} failed (see {log.name})"
            if done[key] is not None:
                failed[recipe.name] = str(done[key])
    ran: dict[str, str | None] = {}
    for recipe in recipes:
        for step in recipe.setup:
            command = [filled(part, data_dir) for part in step]
            key = " ".join(command)
            if key not in ran:
                log = out / f"setup-{len(ran)}.log"
                with log.open("w") as sink:
                    code = subprocess.run(
                        command, stdout=sink, stderr=subprocess.STDOUT, check=False
                    ).returncode
                ran[key] = None if code == 0 else f"setup failed (see {log.name})"
            if ran[key] is not None and recipe.name not in failed:
                failed[recipe.name] = str(ran[key])
    return failed


def filled(text: str, data_dir: Path, best: dict[str, str] | None = None) -> str:
    """``text`` with ``{python}``, ``{bench}``, ``{data_dir}`` and ``{best:<recipe>}`` filled in."""
    text = text.replace("{python}", sys.executable).replace("{bench}", str(HERE))
    text = text.replace("{data_dir}", str(data_dir))
    return re.sub(r"\{best:([^}]+)\}", lambda m: (best or {}).get(m.group(1), m.group(0)), text)


def train_all(
    recipes: list[Recipe], device: str, data_dir: Path, out: Path, seconds: float
) -> dict[str, dict[str, object]]:
    """Every recipe in its own process, all at once except those that start from others'
    checkpoints (they start when those end). Each gets ``trainer.max_time``: its ``share`` of
    ``seconds`` less the test margin, or what is left when it starts; a process still running
    ``seconds`` after the start is stopped."""
    accelerator = "gpu" if device.startswith("cuda") else "cpu"
    started = time.monotonic()
    deadline = started + seconds
    running: dict[str, tuple[subprocess.Popen[bytes], float]] = {}
    ended: dict[str, float] = {}
    results: dict[str, dict[str, object]] = {}
    best: dict[str, str] = {}

    def start(recipe: Recipe) -> None:
        left = deadline - time.monotonic()
        limit = min(recipe.share * seconds, left) - min(TEST_MARGIN_S, TEST_MARGIN_SHARE * seconds)
        command = [
            sys.executable, "-m", "lstm_apps.cli.main", "train",
            *(filled(o, data_dir, best) for o in recipe.train),
            f"trainer.max_time={as_max_time(limit)}",
            f"trainer.accelerator={accelerator}", "trainer.devices=1",
            f"paths.data_dir={data_dir}", f"hydra.run.dir={out / recipe.name}",
            "++callbacks.progress_bar=null",  # a log file, not a live bar
        ]  # fmt: skip
        sink = (out / f"{recipe.name}.log").open("w")
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        running[recipe.name] = (process, time.monotonic())

    waiting = list(recipes)
    while time.monotonic() < deadline and (waiting or len(ended) < len(running)):
        for name, (process, _) in running.items():
            if name not in ended and process.poll() is not None:
                ended[name] = time.monotonic()
                found = out / name / "metrics.json"
                if process.returncode == 0 and found.is_file():
                    best[name] = str(json.loads(found.read_text()).get("best_checkpoint") or "")
        for recipe in list(waiting):
            broken = [n for n in recipe.after if n in ended and not best.get(n)]
            unknown = [n for n in recipe.after if n not in {r.name for r in recipes}]
            if broken or unknown:
                waiting.remove(recipe)
                results[recipe.name] = {"error": f"needs {', '.join(broken + unknown)}, which did not finish"}
            elif all(best.get(n) for n in recipe.after):
                waiting.remove(recipe)
                start(recipe)
        time.sleep(0.2)
    for recipe in waiting:
        results[recipe.name] = {"error": f"did not start: {', '.join(recipe.after)} ran out of time"}
    late = [name for name in running if name not in ended]
    for name in late:  # past the deadline: stop them all at once (SIGTERM writes a checkpoint)
        os.killpg(running[name][0].pid, signal.SIGTERM)
    grace_ends = time.monotonic() + STOP_GRACE_S
    for name in late:
        process = running[name][0]
        try:
            process.wait(timeout=max(0.1, grace_ends - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        ended[name] = time.monotonic()
    for name, (process, began) in running.items():
        recipe = next(r for r in recipes if r.name == name)
        results[name] = {
            "code": process.returncode,
            "started_s": began - started,
            "wall_s": ended[name] - began,
            **read_metric(recipe, out),
        }
        if name in late and "value" not in results[name]:
            results[name]["error"] = (
                f"stopped at the end of the budget, before its test ended (see {name}.log)"
            )
    return results


def read_metric(recipe: Recipe, out: Path) -> dict[str, object]:
    summary_file = out / recipe.name / "metrics.json"
    if not summary_file.is_file():
        return {"error": f"no metrics.json (see {recipe.name}.log)"}
    summary = json.loads(summary_file.read_text())
    value = summary["metrics"].get(recipe.metric)
    found: dict[str, object] = training_rate(summary.get("fit") or {}, out / recipe.name / "config.yaml")
    if value is None:
        return {**found, "error": f"{recipe.metric} not in metrics.json"}
    return {**found, "value": float(value)}


def training_rate(fit: dict[str, float], config: Path) -> dict[str, object]:
    """Optimizer steps per second in fit (validation included), and examples per second: steps x
    ``data.batch_size`` x ``trainer.accumulate_grad_batches`` of the run's config."""
    steps, seconds = fit.get("optimizer_steps"), fit.get("seconds")
    if not steps or not seconds:
        return {}
    rate: dict[str, object] = {"steps_per_s": steps / seconds}
    if config.is_file():
        from omegaconf import OmegaConf

        cfg = OmegaConf.load(config)
        batch = OmegaConf.select(cfg, "data.batch_size")
        accumulate = OmegaConf.select(cfg, "trainer.accumulate_grad_batches", default=1) or 1
        if isinstance(batch, int):
            rate["examples_per_s"] = steps * batch * int(accumulate) / seconds
    return rate


def throughput(
    budget: float, out: Path, results: Path, apps: list[str] | None = None, steps: int | None = None
) -> str:
    """``bench/run.py --only-training`` app by app (each merges its sections into ``results``),
    within ``budget`` seconds in all: an app that does not finish in its share is named."""
    from run import benched_apps  # bench/run.py: the apps it measures

    names = apps or benched_apps()
    finished, stopped, failed = [], [], []
    deadline = time.monotonic() + budget
    for i, app in enumerate(names):
        share = (deadline - time.monotonic()) / (len(names) - i)
        log = out / f"throughput-{app}.log"
        command = [
            sys.executable, str(HERE / "run.py"), "--app", app, "--only-training", "--repeats", "1",
            "--results", str(results), *(["--steps", str(steps), "--warmup", "1"] if steps else []),
        ]  # fmt: skip
        with log.open("w") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                code = process.wait(timeout=max(1.0, share))
                (finished if code == 0 else failed).append(app)
            except subprocess.TimeoutExpired:  # run.py and the children it measures with, all of them
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                stopped.append(app)
    line = f"throughput measured for {', '.join(finished) or 'no app'}"
    if failed:
        line += f"; failed (see throughput-<app>.log): {', '.join(failed)}"
    return line + (f"; stopped at its share of the budget: {', '.join(stopped)}" if stopped else "")


def rows(recipes: list[Recipe], results: dict[str, dict[str, object]], failed: dict[str, str]) -> list[str]:
    lines = [
        "| recipe | metric | result | wall time | training throughput |",
        "|---|---|---:|---:|---:|",
    ]
    for recipe in recipes:
        found = results.get(recipe.name, {})
        if recipe.name in failed:
            value = f"failed: {failed[recipe.name]}"
        elif "value" in found:
            value = f"{found['value']:.4g}"
        else:
            value = f"failed: {found.get('error', 'did not run')}"
            if found.get("code") not in (None, 0):  # 0: it stopped when told to, or never tested
                value += f" (exit {found['code']})"
        wall = f"{float(found['wall_s']):.0f} s" if "wall_s" in found else "—"
        rate = "—"
        if "steps_per_s" in found:
            rate = f"{float(found['steps_per_s']):.1f} steps/s"
            if "examples_per_s" in found:
                rate += f" ({float(found['examples_per_s']):,.0f} examples/s)"
        lines.append(f"| `{recipe.name}` | `{recipe.metric}` | {value} | {wall} | {rate} |")
    return lines


def write_pages(
    recipes: list[Recipe], results: dict[str, dict[str, object]], table: list[str], device: str,
    results_file: Path, page: Path | None,
) -> None:  # fmt: skip
    heading = "## recipes side by side (bench/gpu.py)"
    section = f"{heading}\n\n{device}\n\n" + "\n".join(table) + "\n"
    text = results_file.read_text() if results_file.exists() else "# GPU benchmarks\n"
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    results_file.write_text(text)
    if page is None or not page.exists():
        return
    lines = page.read_text().splitlines()
    for recipe in recipes:
        value = results.get(recipe.name, {}).get("value")
        if value is None:
            continue  # only where it measured
        for i, line in enumerate(lines):
            if line.startswith(f"| `{recipe.name}` |") and NOT_YET in line:
                lines[i] = line.replace(
                    NOT_YET, f"{float(value):.4g} on {device.split(';')[0]} (`make bench-gpu`)", 1
                )
    page.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--budget", type=float, default=540.0, help="wall seconds for the whole run (default 9 min)"
    )
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--recipes", nargs="*", help="run only these (names of the built-in table)")
    parser.add_argument("--recipes-file", type=Path, help="a JSON recipe table instead of the built-in one")
    parser.add_argument("--no-throughput", action="store_true", help="skip step 1")
    parser.add_argument("--throughput-apps", nargs="*", help="step 1 for these apps only (default: all)")
    parser.add_argument(
        "--throughput-steps", type=int, help="timed steps per app in step 1 (default: run.py's)"
    )
    parser.add_argument("--bench-results", type=Path, default=HERE / "results.md", help="step 1's page")
    parser.add_argument("--out", type=Path, default=HERE / "gpu_runs")
    parser.add_argument("--results", type=Path, default=HERE / "results_gpu.md")
    parser.add_argument("--page", type=Path, default=ROOT / "docs" / "results.md")
    args = parser.parse_args(argv)
    started = time.monotonic()
    recipes = built_in_recipes()
    if args.recipes_file:
        recipes = [Recipe(**entry) for entry in json.loads(args.recipes_file.read_text())]
    if args.recipes:
        unknown = sorted(set(args.recipes) - {r.name for r in recipes})
        if unknown:
            parser.error(
                f"unknown recipe(s) {', '.join(unknown)} (available: {', '.join(r.name for r in recipes)})"
            )
        recipes = [r for r in recipes if r.name in args.recipes]
    stop, unmet = missing_requirements(recipes)
    if stop:
        print(f"[bench-gpu] {stop}", file=sys.stderr, flush=True)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    data_dir = args.out / "data"
    device = device_line(args.device)
    print(f"[bench-gpu] {device}; budget {args.budget:.0f} s; {len(recipes)} recipes", flush=True)
    if not args.no_throughput:
        measured = throughput(
            THROUGHPUT_SHARE * args.budget,
            args.out,
            args.bench_results,
            args.throughput_apps,
            args.throughput_steps,
        )
        print("[bench-gpu] " + measured, flush=True)
    failed = unmet | prepare(  # outside the timed part
        [r for r in recipes if r.name not in unmet], args.datasets, data_dir, args.out
    )
    left = args.budget - (time.monotonic() - started)
    to_train = [r for r in recipes if r.name not in failed]
    results = train_all(to_train, args.device, data_dir, args.out, left) if to_train else {}
    table = rows(recipes, results, failed)
    write_pages(recipes, results, table, device, args.results, args.page)
    (args.out / "summary.json").write_text(
        json.dumps({"device": device, "results": results, "failed": failed})
    )
    print("\n".join(table), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

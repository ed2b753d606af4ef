"""``bench/gpu.py`` (``make bench-gpu``) driven on a CPU with tiny recipes: the recipes run side by
side in their own processes inside the budget, data is prepared from ``file://`` folders first,
rows are written to the results file and the page, and a failing recipe is reported while the
others go on."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from lstm_apps.apps.forecaster.tiny import tiny_forecaster_overrides, write_series
from lstm_apps.apps.music.tiny import tiny_music_overrides, write_chorales
from lstm_apps.registry import apps

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_recipes_run_side_by_side_within_the_budget_and_fill_the_pages(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    chorales = write_chorales(datasets / "jsb")
    shutil.copy(chorales / "jsb-chorales-quarter.json", chorales / "jsb-chorales-16th.json")
    series = write_series(tmp_path / "series", 200)
    # The music recipe reads what `lstm-apps prepare music jsb_chorales` wrote under the run's data dir.
    music = [o for o in tiny_music_overrides(chorales) if not o.startswith("data.scores.folder=")]
    recipes = [
        {
            "name": "music_tiny",
            "train": music,
            "metric": "test/nll",
            "prepare": [["music", "jsb_chorales", "jsb"]],
        },
        {  # two epochs: what starts from it gets most of the budget, even on a loaded machine
            "name": "forecaster_tiny",
            "train": [*tiny_forecaster_overrides(series), "trainer.max_epochs=2"],
            "metric": "test/mae",
        },
        {  # would train for ever: trainer.max_time ends it inside the budget, and it is tested
            "name": "long_tiny",
            "train": [
                *tiny_forecaster_overrides(series),
                "trainer.max_epochs=100000",
                "callbacks.early_stopping=null",
            ],
            "metric": "test/mae",
        },
        {  # starts from forecaster_tiny's best checkpoint once that has ended
            "name": "from_forecaster_tiny",
            "train": [
                *tiny_forecaster_overrides(series),
                "trainer.max_epochs=2",
                "init_from={best:forecaster_tiny}",
            ],
            "metric": "test/mae",
            "setup": [["{python}", "-c", "open('{data_dir}/setup_ran', 'w')"]],
            "after": ["forecaster_tiny"],
            "share": 0.5,
        },
        {
            "name": "after_broken_tiny",
            "train": ["app=forecaster"],
            "metric": "test/mae",
            "after": ["broken_tiny"],
        },
        {
            "name": "broken_tiny",
            "train": [*tiny_forecaster_overrides(series), "model.hidden_size=-3"],
            "metric": "test/mae",
        },
    ]
    table = tmp_path / "recipes.json"
    table.write_text(json.dumps(recipes))
    page = tmp_path / "results.md"
    page.write_text(
        "| recipe | metric | result |\n|---|---|---|\n"
        "| `music_tiny` | NLL | not yet run on a GPU; CPU 9.1 |\n"
        "| `broken_tiny` | MAE | not yet run on a GPU |\n"
    )
    results = tmp_path / "results_gpu.md"
    out = tmp_path / "runs"
    budget = 45
    began = time.monotonic()
    command = [
        sys.executable, str(ROOT / "bench" / "gpu.py"), "--device", "cpu", "--budget", str(budget),
        "--no-throughput", "--recipes-file", str(table), "--datasets", str(datasets),
        "--out", str(out), "--results", str(results), "--page", str(page),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=budget + 60)
    wall = time.monotonic() - began
    assert done.returncode == 0, done.stdout + done.stderr
    assert wall <= budget + 30, wall  # inside the budget (and the start, and a stopped run's exit)

    summary = json.loads((out / "summary.json").read_text())["results"]
    assert set(summary) == {
        "music_tiny", "forecaster_tiny", "long_tiny", "broken_tiny", "from_forecaster_tiny", "after_broken_tiny"
    }  # fmt: skip
    together = [
        summary[n]["started_s"] for n in ("music_tiny", "forecaster_tiny", "long_tiny", "broken_tiny")
    ]
    assert max(together) < 5  # started together, not one after another
    chained = summary["from_forecaster_tiny"]
    first = summary["forecaster_tiny"]
    assert chained["started_s"] >= first["started_s"] + first["wall_s"] - 1, summary
    # Tested, or, on a machine loaded by the rest of the suite, stopped at the deadline (as long_tiny
    # may be): started after its source ended either way, and from its checkpoint where it got that far.
    stopped = str(chained.get("error", "")).startswith("stopped at the end of the budget")
    assert chained.get("value", 0) > 0 or stopped, chained
    if not stopped:  # a run stopped while it started has written nothing yet
        loaded = (out / "from_forecaster_tiny" / "init_from.txt").read_text().splitlines()[0]
        assert loaded.startswith(f"init_from: {out / 'forecaster_tiny' / 'checkpoints'}"), loaded
    assert (out / "data" / "setup_ran").is_file()
    assert summary["after_broken_tiny"]["error"] == "needs broken_tiny, which did not finish"
    assert summary["music_tiny"]["value"] > 0 and summary["forecaster_tiny"]["value"] > 0
    assert summary["broken_tiny"]["code"] != 0 and "value" not in summary["broken_tiny"]
    long = summary["long_tiny"]
    # Ended by its max_time and tested; on a loaded machine its test may miss the deadline, and
    # then it is stopped there (SIGTERM) and reported: either way the budget holds.
    assert long.get("value", 0) > 0 or long["error"].startswith("stopped at the end of the budget"), long
    assert summary["long_tiny"]["wall_s"] > summary["forecaster_tiny"]["wall_s"]
    assert all((out / f"{name}.log").is_file() for name, r in summary.items() if "code" in r)

    written = results.read_text()
    assert "## recipes side by side (bench/gpu.py)" in written and "CPU (" in written
    assert f"| `music_tiny` | `test/nll` | {summary['music_tiny']['value']:.4g} |" in written
    assert "| `broken_tiny` | `test/mae` | failed: no metrics.json" in written
    assert summary["forecaster_tiny"]["steps_per_s"] > 0 and summary["forecaster_tiny"]["examples_per_s"] > 0
    # training throughput from the run's metrics.json (steps, seconds) and config.yaml (batch size)
    music_row = next(line for line in written.splitlines() if line.startswith("| `music_tiny` |"))
    assert re.search(r"\| [\d.]+ steps/s \([\d,]+ examples/s\) \|$", music_row), music_row
    rows = page.read_text().splitlines()
    assert "not yet run on a GPU" not in rows[2] and f"{summary['music_tiny']['value']:.4g} on CPU" in rows[2]
    assert rows[3] == "| `broken_tiny` | MAE | not yet run on a GPU |"  # only where it measured


def test_every_built_in_recipe_composes_with_the_overrides_the_script_adds(tmp_path: Path) -> None:
    from helpers.config import compose_config

    gpu = import_gpu_script()
    names = {recipe.name for recipe in gpu.built_in_recipes()}
    assert {
        "seq2seq_multi30k",
        "textgen_shakespeare_nanogpt",
        "tagger_conll2002_es",
        "classifier_sst2",
    } <= names
    assert {"music_jsb", "finetune_sst2_10pct_scratch", "finetune_sst2_10pct_lm"} <= names
    assert names == {recipe.name for spec in apps().values() for recipe in spec.recipes}
    for recipe in gpu.built_in_recipes():
        extra = [
            f"trainer.max_time={gpu.as_max_time(300)}",
            "trainer.accelerator=gpu",
            f"paths.data_dir={tmp_path}",
            "++callbacks.progress_bar=null",
        ]
        best = {name: str(tmp_path / f"{name}.ckpt") for name in recipe.after}
        train = [gpu.filled(o, tmp_path, best) for o in recipe.train]
        assert not [o for o in train if "{" in o], train
        cfg = compose_config("train", [*train, *extra], tmp_path / recipe.name)
        assert cfg.trainer.max_time == "00:00:05:00" and cfg.callbacks.progress_bar is None, recipe.name
        assert recipe.metric.startswith(("test/", "val/"))
        if not recipe.prepare and not recipe.setup:
            continue  # embedded data (asr's corpus is made by training itself)
        # every file the recipe reads under the data folder is one its preparations write there
        prepared = {(app, dataset) for app, dataset, _ in recipe.prepare}
        made = {Path(gpu.filled(part, tmp_path)) for step in recipe.setup for part in step}
        data = OmegaConf.to_container(cfg.data, resolve=True)
        assert isinstance(data, dict)
        data.pop("prepared_dir", None)  # the store training writes itself
        for path in data_files(data, tmp_path):
            parts = path.relative_to(tmp_path).parts
            assert parts[:2] in prepared or any(folder in path.parents for folder in made), (
                recipe.name,
                path,
            )


def import_gpu_script() -> Any:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import gpu
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return gpu


def test_a_missing_package_of_the_project_stops_the_run_with_one_line_before_anything_runs(
    tmp_path: Path,
) -> None:
    blocked = tmp_path / "blocked" / "annotated_types"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'annotated_types'\", name='annotated_types')\n"
    )
    recipes = tmp_path / "none.json"
    recipes.write_text("[]")
    command = [
        sys.executable, str(ROOT / "bench" / "gpu.py"), "--device", "cpu", "--budget", "60",
        "--recipes-file", str(recipes), "--out", str(tmp_path / "runs"),
        "--results", str(tmp_path / "results_gpu.md"), "--page", str(tmp_path / "page.md"),
    ]  # fmt: skip
    path = os.pathsep.join([str(tmp_path / "blocked"), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "annotated_types" in lines[0] and "pip install" in lines[0], done.stderr
    assert not (tmp_path / "runs").exists() and not (tmp_path / "results_gpu.md").exists()


def test_a_recipe_whose_optional_packages_are_missing_is_reported_and_not_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import lstm_apps.extras

    gpu = import_gpu_script()
    needing = [recipe for recipe in gpu.built_in_recipes() if recipe.extras]
    assert needing and all(set(r.extras) <= set(lstm_apps.extras.all_extras()) for r in needing)
    monkeypatch.setitem(lstm_apps.extras.EXTRAS, "audio", ("soundfile",))
    monkeypatch.setattr(lstm_apps.extras, "_installed", lambda module: module != "soundfile")
    recipes = [
        gpu.Recipe("speech", ["app=textgen"], "test/wer", extras=["audio"]),
        gpu.Recipe("plain", [], "test/mae"),
    ]
    stop, failed = gpu.missing_requirements(recipes)
    assert stop is None
    assert failed == {"speech": "needs soundfile (pip install 'lstm-apps[audio]'), not run"}
    assert "| `speech` | `test/wer` | failed: needs soundfile" in "\n".join(gpu.rows(recipes, {}, failed))


def data_files(value: object, data_dir: Path) -> list[Path]:
    """The paths under ``data_dir`` among a config's values, however deep."""
    if isinstance(value, dict):
        return [p for item in value.values() for p in data_files(item, data_dir)]
    if isinstance(value, list):
        return [p for item in value for p in data_files(item, data_dir)]
    if isinstance(value, str) and value.startswith(f"{data_dir}/"):
        return [Path(value)]
    return []


def run_gpu_script(tmp_path: Path, budget: int, *arguments: str) -> subprocess.CompletedProcess[str]:
    recipes = tmp_path / "none.json"
    recipes.write_text("[]")
    command = [
        sys.executable, str(ROOT / "bench" / "gpu.py"), "--device", "cpu", "--budget", str(budget),
        "--recipes-file", str(recipes), "--out", str(tmp_path / "runs"), "--results",
        str(tmp_path / "results_gpu.md"), "--page", str(tmp_path / "page.md"), *arguments,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=budget + 120)


@pytest.mark.slow
def test_the_throughput_step_measures_each_app_into_the_bench_page(tmp_path: Path) -> None:
    page = tmp_path / "bench_results.md"
    page.write_text("# Benchmarks (`make bench`)\n\n## music: training throughput\n\nkept as it was\n")
    done = run_gpu_script(
        tmp_path,
        400,
        "--throughput-apps",
        "forecaster",
        "--throughput-steps",
        "3",
        "--bench-results",
        str(page),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "throughput measured for forecaster" in done.stdout and "stopped" not in done.stdout
    written = page.read_text()
    assert "## forecaster: training throughput" in written and "Lightning / plain = **" in written
    assert "3 timed steps" in written and "kept as it was" in written  # merged, not overwritten


def test_an_app_that_outlasts_its_share_of_the_throughput_time_is_stopped_and_named(tmp_path: Path) -> None:
    page = tmp_path / "bench_results.md"
    began = time.monotonic()
    # music: an app no other test measures, so the processes looked for below are this test's
    done = run_gpu_script(tmp_path, 4, "--throughput-apps", "music", "--bench-results", str(page))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stopped at its share of the budget: music" in done.stdout
    assert time.monotonic() - began < 60 and not page.exists()
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", f"{ROOT / 'bench' / 'run.py'} --app music"], capture_output=True)
    assert left.returncode == 1, left.stdout  # run.py and its measuring children all stopped

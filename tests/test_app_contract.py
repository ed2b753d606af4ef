"""What every app (``lstm_apps.registry``) must do, run on its tiny setup (``tiny.py`` in its
package): train -> self-contained checkpoint -> eval -> predict -> export (ONNX and TorchScript),
train in bf16-mixed on a CPU, and train on two DDP processes (every app in turn in one torchrun
job). A new app is picked up from its folder and needs nothing here."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from helpers.config import compose_config
from helpers.once import once
from helpers.running import FEW, run_main
from helpers.tiny import tiny_setup
from lstm_apps.core.recurrent import RecurrentBlock, quantize_recurrent_layers
from lstm_apps.errors import UserError
from lstm_apps.inspection.batch import inspect_batch
from lstm_apps.inspection.replay import replaying
from lstm_apps.paths import config_dir
from lstm_apps.pipeline.checkpoint import model_from_checkpoint, read_checkpoint
from lstm_apps.pipeline.export import export
from lstm_apps.pipeline.train import build_datamodule, train
from lstm_apps.registry import App, Tiny, apps

APPS = list(apps())
NEW_CELLS = ["mingru", "minlstm", "slstm", "mlstm"]  # beside lstm, gru and rnn (tests/test_recurrent.py)
LIKELIHOODS = ("test/loss", "test/nll", "test/mae")  # the fit of the test set, where an app reports one
# callbacks=inspect on top of a tiny setup's callbacks (its own group choice): an inspection at each step.
INSPECTED = [
    "+callbacks.inspect._target_=lstm_apps.callbacks.inspect.InspectRecurrence",
    "+callbacks.inspect.every_n_steps=1",
    "trainer.num_sanity_val_steps=1",  # the validation batch it keeps
]
ONE_TEST = ["trainer.enable_progress_bar=false", "trainer.limit_test_batches=1"]


def tiny(app: str | App, folder: Path) -> Tiny:
    """The app's tiny setup; an app without one fails its contract with what to add where."""
    try:
        return tiny_setup(app, folder)
    except LookupError as error:
        pytest.fail(str(error), pytrace=False)


def finite(metrics: dict[str, float], prefix: str) -> bool:
    values = [v for k, v in metrics.items() if k.startswith(prefix)]
    return bool(values) and all(math.isfinite(v) for v in values)


def test_every_app_package_is_found_and_each_has_its_app_yaml() -> None:
    """One answer to "which apps exist": the packages that declare ``APP``, each with its
    ``configs/app/<name>.yaml``, and no YAML there without its package."""
    packages = {p.parent.name for p in (config_dir().parent / "src/lstm_apps/apps").glob("*/__init__.py")}
    yamls = {p.stem for p in (config_dir() / "app").glob("*.yaml")}
    assert len(APPS) >= 8 and set(APPS) == packages == yamls


def test_an_app_without_a_tiny_setup_fails_saying_what_to_add_where(tmp_path: Path) -> None:
    newapp = App("newapp", "lstm_apps.apps.textgen", "an app not written yet", tiny="no_such_module:tiny")
    with pytest.raises(pytest.fail.Exception) as failed:
        tiny(newapp, tmp_path)
    message = str(failed.value)
    assert "'newapp' has no tiny setup" in message and "tiny.py" in message and "Tiny" in message


@pytest.mark.parametrize("app", APPS)
def test_trains_evaluates_predicts_and_exports(
    tmp_path: Path, app: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup = tiny(app, tmp_path)
    metrics = train(compose_config("train", [*setup.overrides, *FEW, *INSPECTED], tmp_path / "run"))
    assert finite(metrics, "val/") and finite(metrics, "test/"), metrics
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, map_location="cpu", weights_only=True)["lstm_apps"]["app"] == app
    inspected = tensorboard_tags(tmp_path / "run")
    assert any(t.endswith("_gate") for t in inspected["histograms"]), (app, inspected)
    assert any(t.endswith("/before_clipping") for t in inspected["scalars"]), app
    assert "inspect/learning_signal" in inspected["images"], app

    monkeypatch.chdir(tmp_path)  # the commands' own run directories go here
    capsys.readouterr()
    evaluated = tmp_path / "eval"
    assert (
        run_main(
            [
                "eval",
                f"ckpt_path={ckpt}",
                f"hydra.run.dir={evaluated}",
                *ONE_TEST,
            ]
        )
        == 0
    )
    summary = json.loads((evaluated / "metrics.json").read_text())
    assert summary["app"] == app and finite(summary["metrics"], "test/"), summary
    # The same test batch with int8 recurrent layers: a score, and near float32's loss.
    assert (
        run_main(["eval", f"ckpt_path={ckpt}", f"hydra.run.dir={evaluated}_int8", "quantize=int8", *ONE_TEST])
        == 0
    )
    int8 = json.loads((tmp_path / "eval_int8" / "metrics.json").read_text())["metrics"]
    assert finite(int8, "test/") and int8.keys() == summary["metrics"].keys(), int8
    fitted = {key: value for key, value in summary["metrics"].items() if key in LIKELIHOODS}
    assert all(int8[key] == pytest.approx(value, rel=0.02) for key, value in fitted.items()), (int8, fitted)
    assert int8 != summary["metrics"], "quantize=int8 scored the float32 model"

    capsys.readouterr()
    assert run_main(["predict", f"ckpt_path={ckpt}", "device=cpu", *setup.predict]) == 0
    assert capsys.readouterr().out.strip(), f"{app}: predict printed nothing for {setup.predict}"
    assert run_main(["predict", f"ckpt_path={ckpt}", "quantize=int8", *setup.predict]) == 0
    assert capsys.readouterr().out.strip(), f"{app}: predict with int8 layers printed nothing"

    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".pt")):
        out = tmp_path / fmt
        differences = export(
            compose_config("export", [f"ckpt_path={ckpt}", f"format={fmt}", f"output_dir={out}"])
        )
        assert differences and all(d <= 1e-4 for d in differences.values()), differences
        assert all((out / f"{name}{suffix}").is_file() for name in differences)

    # One decoding entry point in every app: a validation batch as the app's loader makes it.
    info = read_checkpoint(ckpt)
    model = model_from_checkpoint(info)
    data = build_datamodule(info.config, info.fitted_state)
    data.setup("validate")
    batch = next(iter(data.val_dataloader()))
    rows = batch[0].size(0) if isinstance(batch, tuple | list) else len(batch["index"])
    decoded = model.decode_batch(batch)
    assert len(decoded) == rows and all(len(row) > 0 for row in decoded), (app, type(decoded))
    inspected_replay_matches_the_model(app, model, batch)
    capsys.readouterr()
    pictures = tmp_path / "inspect"
    assert (
        run_main(["inspect", f"ckpt_path={ckpt}", *setup.predict, f"output_dir={pictures}", "find=true"]) == 0
    )
    printed = capsys.readouterr().out
    assert f"page: {pictures / 'cells.html'}" in printed, printed
    assert (
        (pictures / "cells.png").stat().st_size > 1000
        and "<span" in (pictures / "cells.html").read_text()
        or ('src="cells.png"' in (pictures / "cells.html").read_text())
    )
    assert quantize_recurrent_layers(model) > 0, f"{app}: no recurrent layer became int8"
    assert len(model.decode_batch(batch)) == rows


def tensorboard_tags(run: Path) -> dict[str, list[str]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags: dict[str, list[str]] = {"histograms": [], "scalars": [], "images": []}
    for events in run.rglob("events.out.tfevents*"):
        accumulator = EventAccumulator(
            str(events), size_guidance={"histograms": 1, "images": 1, "scalars": 1}
        )
        accumulator.Reload()
        for kind in tags:
            tags[kind] += accumulator.Tags().get(kind, [])
    return tags


def inspected_replay_matches_the_model(app: str, model: Any, batch: Any) -> None:
    """``callbacks=inspect``'s pass on a validation batch: the step-by-step replay gives the model's
    own loss, sees every recurrent layer and carries the loss's gradient back in time."""
    with model.evaluating(), torch.no_grad():
        expected = float(model.inspection_loss(batch))
    inspection = inspect_batch(model, batch)
    with model.evaluating(), torch.enable_grad(), replaying(model) as records:
        replayed = float(model.inspection_loss(batch).detach())
    assert replayed == pytest.approx(expected, rel=1e-4, abs=1e-5), (app, replayed, expected)
    blocks = [name for name, module in model.named_modules() if isinstance(module, RecurrentBlock)]
    assert {r.name for r in records if r.calls} == set(blocks), (app, blocks)
    assert any(key.endswith("/h_norm") for key in inspection.scalars), (app, inspection.scalars)
    assert any(key.endswith("_saturated_high") for key in inspection.scalars), app  # lstm gates
    assert inspection.curves and all(float(c.relative[0]) == pytest.approx(1.0) for c in inspection.curves), (
        app
    )


@pytest.mark.parametrize("cell", NEW_CELLS)
@pytest.mark.parametrize("app", APPS)
def test_trains_and_predicts_with_each_new_cell(
    tmp_path: Path, app: str, cell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``model.cell=mingru|minlstm|slstm|mlstm`` in every app: trained and tested, recorded in the checkpoint,
    predicted with (decoders and samplers step it), in int8 too; export says why it cannot."""
    setup = tiny(app, tmp_path)
    metrics = train(compose_config("train", [*setup.overrides, *FEW, f"model.cell={cell}"], tmp_path / "run"))
    assert finite(metrics, "val/") and finite(metrics, "test/"), metrics
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert read_checkpoint(ckpt).config.model.cell == cell
    capsys.readouterr()
    # A model trained for a step may end its output at once (a caption of no words: an empty line).
    assert run_main(["predict", f"ckpt_path={ckpt}", "device=cpu", *setup.predict]) == 0
    assert capsys.readouterr().out.endswith("\n"), f"{app} with {cell}: predict printed nothing"
    assert run_main(["predict", f"ckpt_path={ckpt}", "quantize=int8", *setup.predict]) == 0
    assert capsys.readouterr().out.endswith("\n")
    with pytest.raises(UserError, match=rf"export: model.cell={cell}: its loop over time follows"):
        export(
            compose_config("export", [f"ckpt_path={ckpt}", "format=torchscript", f"output_dir={tmp_path}"])
        )


@pytest.mark.parametrize("app", APPS)
def test_starts_from_its_own_checkpoint_with_init_from(tmp_path: Path, app: str) -> None:
    """``init_from`` of the same app: every weight loads, the fitted state is kept, steps restart."""
    setup = tiny(app, tmp_path)
    train(compose_config("train", [*setup.overrides, *FEW, "test_after_fit=false"], tmp_path / "a"))
    source = torch.load(tmp_path / "a" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    overrides = [
        *setup.overrides,
        *FEW,
        "test_after_fit=false",
        f"init_from={tmp_path / 'a' / 'checkpoints' / 'last.ckpt'}",
        "init_from_strict=true",
    ]
    train(compose_config("train", overrides, tmp_path / "b"))
    tuned = torch.load(tmp_path / "b" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert tuned["global_step"] == source["global_step"], "the step count starts again"
    assert tuned["lstm_apps"]["fitted_state"] == source["lstm_apps"]["fitted_state"]
    parameters = len(
        dict(
            model_from_checkpoint(
                read_checkpoint(tmp_path / "a" / "checkpoints" / "last.ckpt")
            ).named_parameters()
        )
    )
    counts = (tmp_path / "b" / "init_from.txt").read_text().splitlines()[-1]
    assert counts.startswith(f"  {parameters} loaded, 0 partly, 0 fresh"), counts


@pytest.mark.parametrize("app", APPS)
def test_trains_in_bf16_mixed_precision_on_cpu(tmp_path: Path, app: str) -> None:
    overrides = [*tiny(app, tmp_path).overrides, *FEW, "trainer.precision=bf16-mixed"]
    metrics = train(compose_config("train", overrides, tmp_path / "run"))
    assert finite(metrics, "val/") and finite(metrics, "test/"), metrics


# Every app trained in turn by one torchrun job of two CPU processes (``trainer=ddp_cpu``, the
# processes started by torchrun): they start, import and join their process group once for all
# apps, where a DDP run per app paid all that each time.
DDP_JOB = """
import json
import sys

from hydra.core.global_hydra import GlobalHydra

from lstm_apps.cli.main import main

for app, args in json.loads(open(sys.argv[1]).read()).items():
    GlobalHydra.instance().clear()
    try:
        main(["train", *args])
    except SystemExit as stop:
        if stop.code:
            raise
"""


@pytest.fixture(scope="module")
def ddp_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The job's folder (``runs/<app>/…`` under it) and its exit code, output and predict options;
    run once per session, whichever test process asks first."""

    def run_job(folder: Path) -> dict[str, Any]:
        jobs, predict = {}, {}
        for app in APPS:
            setup = tiny(app, folder / "data" / app)
            ddp = ["trainer=ddp_cpu", "trainer.strategy.timeout.seconds=120", "test_after_fit=false"]
            jobs[app], predict[app] = [*setup.overrides, *FEW, *ddp], setup.predict
        (folder / "jobs.json").write_text(json.dumps(jobs))
        (folder / "job.py").write_text(DDP_JOB)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(
            [*command, str(folder / "job.py"), str(folder / "jobs.json")],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        return {"code": done.returncode, "stderr": done.stderr[-4000:], "predict": predict}

    return once(tmp_path_factory, "ddp-contract", run_job)


@pytest.mark.slow
@pytest.mark.parametrize("app", APPS)
def test_trains_on_two_ddp_cpu_processes_into_one_run(
    ddp_job: tuple[Path, dict[str, Any]],
    app: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, job = ddp_job
    runs = sorted((folder / "runs" / app).glob("*")) if (folder / "runs" / app).is_dir() else []
    assert runs, f"{app}: no run from the DDP job (exit {job['code']}):\n{job['stderr']}"
    assert len(runs) == 1 and runs[0].name.startswith("torchrun-"), "both ranks write into one run directory"
    ckpt = runs[0] / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, map_location="cpu", weights_only=True)["global_step"] > 0
    monkeypatch.chdir(folder)
    capsys.readouterr()
    assert run_main(["predict", f"ckpt_path={ckpt}", "device=cpu", *job["predict"][app]]) == 0
    assert capsys.readouterr().out.strip()

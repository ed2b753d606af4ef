"""hparams_search=<app>_optuna: trials in sub-directories, a failed trial does not stop the search,
the study continues where it stopped, and several workers fill one study together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

from helpers.config import compose_config
from lstm_apps.apps.tagger.tiny import tiny_tagger_overrides, write_conll
from lstm_apps.paths import available_apps, config_dir
from lstm_apps.pipeline.optuna_search import search_space
from lstm_apps.pipeline.train import train


@pytest.mark.parametrize("app", available_apps())
def test_every_app_has_a_search_over_keys_of_its_config(tmp_path: Path, app: str) -> None:
    assert (config_dir() / "hparams_search" / f"{app}_optuna.yaml").is_file()
    cfg = compose_config("train", [f"hparams_search={app}_optuna"], tmp_path)
    assert cfg.app_name == app and cfg.search.n_trials > 0
    absent = object()
    for key in search_space(cfg.search.params):
        assert OmegaConf.select(cfg, key, default=absent) is not absent, key


def test_search_survives_a_failing_trial_and_resumes_its_study(tmp_path: Path) -> None:
    data = write_conll(tmp_path / "data", repeat=2)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    overrides = [
        *tiny_tagger_overrides(data),
        "hparams_search=tagger_optuna",
        "trainer.max_epochs=2",
        f"search.storage={storage}",
        "search.params.model.char_features.choices=[cnn,bogus]",
    ]
    first = train(compose_config("train", [*overrides, "search.n_trials=2"], tmp_path / "first"))
    study = optuna.load_study(study_name="tagger", storage=storage)
    assert len(study.trials) == 2
    train(compose_config("train", [*overrides, "search.n_trials=5"], tmp_path / "second"))
    study = optuna.load_study(study_name="tagger", storage=storage)
    states = [t.state for t in study.trials]
    assert len(states) == 5, "the second run added the missing trials to the same study"
    assert optuna.trial.TrialState.FAIL in states and optuna.trial.TrialState.COMPLETE in states
    assert all(t.params["model.char_features"] == "bogus" for t in study.trials if t.state.name == "FAIL")
    summary = json.loads((tmp_path / "second" / "search.json").read_text())
    assert summary["best_params"] == study.best_params and summary["trials"]["COMPLETE"] >= 1
    completed = [t.number for t in study.trials if t.state.name == "COMPLETE"]
    assert (
        tmp_path / ("first" if completed[0] < 2 else "second") / f"trial_{completed[0]:03d}" / "checkpoints"
    ).is_dir()
    assert isinstance(first, dict)


@pytest.mark.slow
def test_two_workers_fill_one_study_each_trial_once(tmp_path: Path) -> None:
    data = write_conll(tmp_path / "data", repeat=2)
    command = [
        sys.executable,
        "-m",
        "lstm_apps.cli.main",
        "train",
        *tiny_tagger_overrides(data),
        "hparams_search=tagger_optuna",
        "resume=auto",
        "trainer.max_epochs=1",
        "search.n_trials=4",
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    workers = [
        subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [o[-2000:] for o in outputs]
    (run,) = list((tmp_path / "runs" / "tagger").iterdir())
    storage = optuna.storages.journal.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(run / "optuna.journal"))
    )
    trials = optuna.load_study(study_name="tagger", storage=storage).trials
    assert sorted(t.number for t in trials) == [0, 1, 2, 3], "the requested trials, each number once"
    assert all(t.state.is_finished() for t in trials)
    assert sorted(p.name for p in run.glob("trial_*")) == [f"trial_{n:03d}" for n in range(4)]
    assert all((run / f"trial_{n:03d}" / "checkpoints" / "last.ckpt").is_file() for n in range(4))
    reports = [
        line for output in outputs for line in output.splitlines() if line.startswith("[lstm-apps] search: {")
    ]
    assert len(reports) == 1, "the best parameters are reported once, by the worker that ended the last trial"
    assert json.loads((run / "search.json").read_text())["finished"] == 4

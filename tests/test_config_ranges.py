"""Every declared key of every app refuses a value outside its range with one line and exit status 2.

The cases are generated from ``lstm_apps.config_ranges.declared``; the configs are composed once per
app and variant (each data sub-group option, search, launcher …) and the bad value is parsed as
Hydra parses a command-line override, so the check sees what a user's typo would give it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from helpers.fixture_data import app_checkpoint
from lstm_apps.config_ranges import check_config, check_predict_options, check_search_space
from lstm_apps.config_ranges.check import declarations, declared_keys, show
from lstm_apps.config_ranges.declared import SOURCE_GROUPS
from lstm_apps.errors import UserError
from lstm_apps.paths import available_apps, config_dir

APPS = available_apps()
SHARED_VARIANTS = [
    ["optimizer=sgd"],
    ["scheduler=cosine"],
    ["scheduler=onecycle"],
    ["trainer=ddp"],
    ["debug=overfit"],
    ["launcher=slurm_local"],
    ["logger=many"],
]
WHAT_IS_ALLOWED = (
    r" is ((out of range|not an integer|not a number|not allowed) \(.+\)|not one of .+|not true or false)$"
)
NOT_USER_VALUES = ("hydra.", "paths.", "search.params.")  # Hydra's own; the search space is checked apart


def _compose(config_name: str, overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            return compose(config_name, overrides=overrides)
    finally:
        GlobalHydra.instance().clear()


def _sub_group_variants(app: str) -> list[list[str]]:
    """``data/<group>=<option>`` for each option of the sub-group the app's data config picks."""
    data = OmegaConf.load(config_dir() / "data" / f"{app}.yaml")
    variants = []
    for entry in data.get("defaults", []):
        if isinstance(entry, DictConfig):
            for group in entry:
                options = sorted(p.stem for p in (config_dir() / "data" / str(group)).glob("*.yaml"))
                variants += [[f"data/{group}={option}"] for option in options]
    return variants


@cache
def train_variants(app: str) -> tuple[DictConfig, ...]:
    """Composed train configs of ``app`` that between them hold every key a user can set."""
    overrides = [[], [f"hparams_search={app}_optuna"], *_sub_group_variants(app), *SHARED_VARIANTS]
    return tuple(_compose("train", [f"app={app}", *extra]) for extra in overrides)


@cache
def command_config(command: str) -> DictConfig:
    return _compose(command, ["ckpt_path=x.ckpt"])


def _config_with(configs: tuple[DictConfig, ...], key: str) -> DictConfig | None:
    absent = object()
    return next((c for c in configs if OmegaConf.select(c, key, default=absent) is not absent), None)


def _as_override(key: str, value: Any) -> Any:
    """``value`` as Hydra reads ``key=value`` from the command line."""
    return OverridesParser.create().parse_override(f"{key}={show(value)}").value()


def _bad_value(specs: list) -> Any:
    values = [v for spec in specs for v in spec.kind.outside() if all(s.problem(v) for s in specs)]
    assert values, "a declaration must have a value outside it"
    return values[0]


def _error_for(cfg: DictConfig, command: str, key: str, value: Any) -> str:
    cfg = cfg.copy()
    OmegaConf.update(cfg, key, _as_override(key, value), merge=False)
    with pytest.raises(UserError) as caught:
        check_config(cfg, command)
    return str(caught.value)


TRAIN_CASES = [(app, key) for app in APPS for key in declarations("train", app)]


@pytest.mark.parametrize("app,key", TRAIN_CASES, ids=[f"{a}:{k}" for a, k in TRAIN_CASES])
def test_train_key_out_of_range(app: str, key: str) -> None:
    cfg = _config_with(train_variants(app), key)
    assert cfg is not None, f"{key} is declared for {app} but no config of that app has it"
    check_config(cfg, "train")  # the shipped value is valid
    bad = _bad_value(declarations("train", app)[key])
    message = _error_for(cfg, "train", key, bad)
    assert message.startswith(f"{key}={show(_as_override(key, bad))} is ")
    assert "\n" not in message and re.search(WHAT_IS_ALLOWED, message), message


def _source_options() -> list[tuple[str, str, str]]:
    """``(app, group, option)`` for each data source option, with an app whose data has that group."""
    cases = []
    for group in SOURCE_GROUPS:
        app = next(a for a in APPS if [f"data/{group}=" in v[0] for v in _sub_group_variants(a)].count(True))
        cases += [(app, group, path.stem) for path in sorted((config_dir() / "data" / group).glob("*.yaml"))]
    return cases


SOURCE_CASES = [
    (app, f"{group}={option}", key)
    for app, group, option in _source_options()
    for key in OmegaConf.load(config_dir() / "data" / group / f"{option}.yaml")
    if key != "_target_"
]


@pytest.mark.parametrize("app,source,key", SOURCE_CASES, ids=[f"{s}:{k}" for _, s, k in SOURCE_CASES])
def test_data_source_key_out_of_range(app: str, source: str, key: str) -> None:
    cfg = _compose("train", [f"app={app}", f"data/{source}"])
    name = f"data.{source.split('=')[0]}.{key}"
    specs = declared_keys(cfg, "train", app).get(name)
    value = OmegaConf.select(cfg, name, throw_on_resolution_failure=False)
    if specs is None:
        assert not isinstance(value, int | float) or isinstance(value, bool), (
            f"{name} ({source}) has no range"
        )
        return
    bad = _bad_value(specs)
    message = _error_for(cfg, "train", name, bad)
    assert message.startswith(f"{name}={show(_as_override(name, bad))} is ") and re.search(
        WHAT_IS_ALLOWED, message
    )


OTHER_CASES = [(command, key) for command in ("eval", "predict", "export") for key in declarations(command)]


@pytest.mark.parametrize("command,key", OTHER_CASES, ids=[f"{c}:{k}" for c, k in OTHER_CASES])
def test_command_key_out_of_range(command: str, key: str) -> None:
    cfg = command_config(command)
    check_config(cfg, command)
    if _config_with((cfg,), key) is None:  # eval's data: {}, trainer.overfit_batches …: set with +key=…
        cfg = cfg.copy()
        OmegaConf.set_struct(cfg, False)
    bad = _bad_value(declarations(command)[key])
    message = _error_for(cfg, command, key, bad)
    assert message.startswith(f"{key}={show(_as_override(key, bad))} is ") and "\n" not in message
    assert re.search(WHAT_IS_ALLOWED, message), message


def _numeric_leaves(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [k for name, child in node.items() for k in _numeric_leaves(child, f"{prefix}{name}.")]
    if isinstance(node, list):
        return (
            [prefix[:-1]]
            if not prefix.startswith(NOT_USER_VALUES)
            and any(isinstance(v, int | float) and not isinstance(v, bool) for v in node)
            else []
        )
    numeric = isinstance(node, int | float) and not isinstance(node, bool)
    return [prefix[:-1]] if numeric and not prefix.startswith(NOT_USER_VALUES) else []


@pytest.mark.parametrize("app", APPS)
def test_every_numeric_key_of_an_app_is_declared(app: str) -> None:
    for cfg in train_variants(app):
        found = set(_numeric_leaves(OmegaConf.to_container(cfg, resolve=False)))
        assert sorted(found - set(declared_keys(cfg, "train", app))) == []


@pytest.mark.parametrize("command", ["eval", "predict", "export"])
def test_every_numeric_key_of_a_command_is_declared(command: str) -> None:
    found = set(_numeric_leaves(OmegaConf.to_container(command_config(command), resolve=False)))
    assert sorted(found - set(declarations(command))) == []


@pytest.mark.parametrize("app", APPS)
def test_cli_in_process(
    app: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lstm_apps.cli.main import main

    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(
        sys.modules["__main__"], "__spec__", getattr(sys.modules["__main__"], "__spec__", None)
    )
    with pytest.raises(SystemExit) as exit_:
        main(["train", f"app={app}", "model.dropout=1.5"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "lstm-apps: error: model.dropout=1.5 is out of range (a number >= 0 and < 1)"
    ]


def test_search_space_bounds_are_checked() -> None:
    cfg = train_variants("textgen")[1]
    check_search_space(cfg)
    cfg = cfg.copy()
    OmegaConf.update(cfg, "search.params.model.num_layers.low", 0)
    with pytest.raises(
        UserError, match=r"^search.params.model.num_layers.low: model.num_layers=0 is out of range"
    ):
        check_search_space(cfg)


def test_each_optuna_trial_is_checked(tmp_path: Path) -> None:
    from lstm_apps.pipeline.optuna_search import trial_config

    cfg = train_variants("textgen")[1]
    with pytest.raises(UserError, match=r"^model.dropout=1.2 is out of range"):
        trial_config(cfg, {"model.dropout": 1.2}, tmp_path)  # as a search space wider than allowed samples


def test_predict_options_per_app() -> None:
    check_predict_options("seq2seq", {"beam_size": 4, "n_best": 2})
    with pytest.raises(UserError, match=r"^beam_size=0 is out of range \(an integer >= 1\)$"):
        check_predict_options("captioner", {"beam_size": 0})
    with pytest.raises(UserError, match=r"^input_format=csv is not one of auto, conll, text$"):
        check_predict_options("tagger", {"input_format": "csv"})


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), "LSTM_APPS_ROOT": str(cwd)}
    command = [sys.executable, "-m", "lstm_apps.cli.main", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args,line",
    [
        (
            ["train", "app=textgen", "data.batch_size=0"],
            "data.batch_size=0 is out of range (an integer >= 1)",
        ),
        (
            ["predict", "ckpt_path=textgen.ckpt", "top_p=1.5"],
            "top_p=1.5 is out of range (a number > 0 and <= 1)",
        ),
        (
            ["train", "-m", "app=seq2seq", "model.cell=lstmm,gruu"],
            "model.cell=lstmm is not one of lstm, gru, rnn",
        ),
    ],
    ids=["train", "predict", "sweep-job"],
)
def test_cli_subprocess(args: list[str], line: str, tmp_path: Path) -> None:
    app_checkpoint(tmp_path, "textgen")
    result = _cli(args, tmp_path)
    assert result.returncode == 2
    errors = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert errors == [f"lstm-apps: error: {line}"], result.stderr[-2000:]

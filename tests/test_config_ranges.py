"""Every numeric and choice key of every app refuses a value outside its range with one line and exit status 2.

The cases are generated from the schema: the signatures of the ``_target_``s each composed config
builds (models, datamodules, data sources, predictor options) and ``config_ranges.declared`` for the
keys no constructor owns. The configs are composed once per app and variant (each data sub-group
option, search, launcher …) and the bad value is parsed as Hydra parses a command-line override, so
the check sees what a user's typo would give it.
"""

from __future__ import annotations

import json
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
from helpers.running import run_in_process
from lstm_apps.config_ranges import check_config, check_options, check_search_space
from lstm_apps.config_ranges.check import declarations, declared_keys, show
from lstm_apps.config_ranges.kinds import Key
from lstm_apps.config_ranges.schema import object_keys, parameter_keys
from lstm_apps.errors import UserError
from lstm_apps.paths import available_apps, config_dir
from lstm_apps.pipeline.predictor import predictor_for

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


def _refused(spec: Key) -> list[Any]:
    """Values just outside what ``spec`` allows (none for a key that takes any text)."""
    return [v for v in spec.kind.outside() if spec.problem(v)]


def _bad_value(spec: Key) -> Any:
    values = _refused(spec)
    assert values, "a declaration must have a value outside it"
    return values[0]


def _error_for(cfg: DictConfig, command: str, key: str, value: Any) -> str:
    cfg = cfg.copy()
    OmegaConf.update(cfg, key, _as_override(key, value), merge=False)
    with pytest.raises(UserError) as caught:
        check_config(cfg, command)
    return str(caught.value)


def _sets(cfg: DictConfig, key: str) -> bool:
    absent = object()
    return OmegaConf.select(cfg, key, default=absent, throw_on_resolution_failure=False) is not absent


@cache
def app_cases(app: str) -> dict[str, tuple[DictConfig, Key]]:
    """Every key that a config of ``app`` sets, with the first variant that sets it and what the
    key allows there (``data.corpus.format`` is another source's key in another variant)."""
    cases: dict[str, tuple[DictConfig, Key]] = {}
    for cfg in train_variants(app):
        for key, spec in declared_keys(cfg, "train").items():
            if key not in cases and _sets(cfg, key):
                cases[key] = (cfg, spec)
    return cases


def app_keys(app: str) -> dict[str, Key]:
    return {key: spec for key, (_, spec) in app_cases(app).items()}


TRAIN_CASES = [(app, key) for app in APPS for key, spec in app_keys(app).items() if _refused(spec)]


@pytest.mark.parametrize("app,key", TRAIN_CASES, ids=[f"{a}:{k}" for a, k in TRAIN_CASES])
def test_train_key_out_of_range(app: str, key: str) -> None:
    cfg, spec = app_cases(app)[key]
    check_config(cfg, "train")  # the shipped value is valid
    bad = _bad_value(spec)
    message = _error_for(cfg, "train", key, bad)
    assert message.startswith(f"{key}={show(_as_override(key, bad))} is ")
    assert "\n" not in message and re.search(WHAT_IS_ALLOWED, message), message


def test_the_schema_covers_what_the_tables_used_to() -> None:
    """Keys whose ranges moved from a central table onto their parameters are still checked."""
    expected = json.loads((Path(__file__).parent / "fixtures" / "declared_keys.json").read_text())
    for app, keys in expected.items():
        assert set(keys) <= set(app_keys(app)), (app, sorted(set(keys) - set(app_keys(app))))


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
        assert sorted(found - set(declared_keys(cfg, "train"))) == []


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


PREDICT_CASES = [
    (app, name)
    for app in APPS
    for name, spec in object_keys(predictor_for(app).options_type).items()
    if _refused(spec)
]


@pytest.mark.parametrize("app,name", PREDICT_CASES, ids=[f"{a}:{n}" for a, n in PREDICT_CASES])
def test_predict_option_out_of_range(app: str, name: str) -> None:
    options_type = predictor_for(app).options_type
    spec = object_keys(options_type)[name]
    bad = _as_override(name, _bad_value(spec))
    with pytest.raises(UserError) as caught:
        check_options(options_type, {name: bad})
    assert str(caught.value).startswith(f"{name}={show(bad)} is ")
    assert re.search(WHAT_IS_ALLOWED, str(caught.value)), str(caught.value)


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
            "model.cell=lstmm is not one of lstm, gru, rnn, mingru, minlstm, slstm, mlstm",
        ),
    ],
    ids=["train", "predict", "sweep-job"],
)
def test_cli_subprocess(args: list[str], line: str, tmp_path: Path) -> None:
    app_checkpoint(tmp_path, "textgen")
    # The sweep job in a child process (Hydra's multirun path); the others in this process, the
    # same command line without the start-up (tests/test_cli.py runs such mistakes in children).
    result = _cli(args, tmp_path) if "-m" in args else run_in_process(args, tmp_path)
    assert result.returncode == 2
    errors = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert errors == [f"lstm-apps: error: {line}"], result.stderr[-2000:]


def _listed_choices(comment: str) -> set[str] | None:
    """``{"a", "b"}`` from a YAML comment ``a | b (a note)``, ``None`` when it lists no choices."""
    while re.search(r"\([^()]*\)", comment):
        comment = re.sub(r"\([^()]*\)", "", comment)
    if "|" not in comment:
        return None
    before = re.findall(r"(\w+)\s*(?=\|)", comment)
    after = re.search(r"\|\s*(\w+)[^|]*$", comment)
    return set(before) | ({after.group(1)} if after else set())


def _commented_choices(path: Path, prefix: str) -> list[tuple[str, set[str]]]:
    """``(dotted key, choices)`` for each line of ``path`` whose comment lists choices."""
    found, parent = [], ""
    for line in path.read_text().splitlines():
        match = re.match(r"^( *)(\w+):\s*(\S*)\s*#\s*(.*)$", line) or re.match(r"^( *)(\w+):\s*()$", line)
        if not match:
            continue
        indent, name = match.group(1), match.group(2)
        if not indent:
            parent = name
        key = f"{prefix}{parent}.{name}" if indent else f"{prefix}{name}"
        choices = _listed_choices(match.group(4)) if match.lastindex == 4 else None
        if choices:
            found.append((key, choices))
    return found


def _choice_options(spec: Key) -> set[str] | None:
    kinds = getattr(spec.kind, "kinds", (spec.kind,))
    options = {option for kind in kinds for option in getattr(kind, "options", ())}
    return options or None


@pytest.mark.parametrize("app", APPS)
def test_choices_listed_in_yaml_comments_are_the_annotations(app: str) -> None:
    """A comment like ``# lstm | gru | rnn`` documents a ``Literal``: it may not drift from it."""
    files = [
        (config_dir() / "model" / f"{app}.yaml", "model."),
        (config_dir() / "data" / f"{app}.yaml", "data."),
    ]
    keys = app_keys(app)
    checked = 0
    for path, prefix in files:
        for key, listed in _commented_choices(path, prefix):
            if key in keys and (options := _choice_options(keys[key])) is not None:
                assert listed == options, (
                    f"{path.name}: {key} lists {sorted(listed)}, allows {sorted(options)}"
                )
                checked += 1
    predict_file = config_dir() / "predict" / f"{app}.yaml"
    options_keys = object_keys(predictor_for(app).options_type)
    for key, listed in _commented_choices(predict_file, ""):
        if key in options_keys and (options := _choice_options(options_keys[key])) is not None:
            assert listed == options, (
                f"{predict_file.name}: {key} lists {sorted(listed)}, allows {sorted(options)}"
            )
            checked += 1
    assert checked, f"no listed choices found for {app}"


def test_choices_listed_in_data_source_comments_are_the_annotations() -> None:
    checked = 0
    for path in sorted(config_dir().glob("data/*/*.yaml")):
        keys = parameter_keys(str(OmegaConf.load(path)._target_))
        for key, listed in _commented_choices(path, ""):
            if key in keys and (options := _choice_options(keys[key])) is not None:
                assert listed == options, (
                    f"{path.name}: {key} lists {sorted(listed)}, allows {sorted(options)}"
                )
                checked += 1
    assert checked >= 2

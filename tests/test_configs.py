"""Every selectable config composes, instantiates its pieces, and mistakes are caught up front."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hydra.utils import get_class, get_object
from omegaconf import DictConfig, ListConfig, OmegaConf

from helpers.config import compose_config
from lstm_apps.cli.preflight import check_overrides
from lstm_apps.config_ranges.schema import signature_parameters
from lstm_apps.errors import UserError
from lstm_apps.paths import available_apps, config_dir

CONFIGS = config_dir()


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIGS / group).glob("*.yaml"))


@pytest.mark.parametrize("app", available_apps())
def test_every_app_composes_to_a_complete_run(app: str, tmp_path: Path) -> None:
    cfg = compose_config("train", [f"app={app}"], tmp_path)
    assert cfg.app_name == app
    assert cfg.monitor and cfg.monitor_mode in ("min", "max")
    get_class(cfg.data._target_)
    get_class(cfg.model._target_)


@pytest.mark.parametrize(
    "group,choice",
    [
        (g, c)
        for g in ("trainer", "callbacks", "logger", "optimizer", "scheduler", "debug", "experiment")
        for c in options(g)
    ],
)
def test_every_group_option_composes(group: str, choice: str, tmp_path: Path) -> None:
    cfg = compose_config("train", [f"{group}={choice}"], tmp_path)
    assert cfg.trainer._target_ == "lightning.pytorch.Trainer"


@pytest.mark.parametrize("config_name", ["train", "eval", "predict"])
def test_top_level_configs_compose(config_name: str) -> None:
    overrides = [] if config_name == "train" else ["ckpt_path=x.ckpt"]
    cfg = compose_config(config_name, overrides)
    assert cfg.task_name == config_name
    assert cfg.float32_matmul_precision == "high"
    if config_name == "train":
        assert cfg.app_name == "textgen" and cfg.ckpt_path is None
    else:
        assert cfg.ckpt_path == "x.ckpt" and cfg.expected_app is None


def test_precision_is_32_by_default_and_bf16_is_selectable(tmp_path: Path) -> None:
    assert compose_config("train", [], tmp_path).trainer.precision == "32-true"
    assert compose_config("train", ["trainer=gpu"], tmp_path).trainer.precision == "32-true"
    assert (
        compose_config("train", ["trainer=gpu", "trainer.precision=bf16-mixed"], tmp_path).trainer.precision
        == "bf16-mixed"
    )
    assert compose_config("train", ["trainer.precision=16-mixed"], tmp_path).trainer.precision == "16-mixed"


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["app=nosuchapp"], "unknown app 'nosuchapp' (available: "),
        (["model.hiden_size=3"], "unknown config key 'hiden_size'"),
        (["trainer=tpu9"], "Could not find 'trainer/tpu9' (available: cpu, ddp, ddp_cpu, default, gpu)"),
        (["data/corpus=text_files"], "missing value for data.corpus.train, data.corpus.val"),
        (["trainer.max_epochs=[1"], "trainer.max_epochs=[1"),
    ],
)
def test_preflight_turns_mistakes_into_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(UserError) as err:
        check_overrides("train", overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_preflight_leaves_multirun_and_flags_to_hydra() -> None:
    # The same out-of-range value is refused by a plain run and left to Hydra (which composes each
    # job of a sweep, and checks it there) when a flag is given.
    with pytest.raises(UserError, match="model.hidden_size=-3"):
        check_overrides("train", ["model.hidden_size=-3"])
    assert check_overrides("train", ["-m", "model.hidden_size=-3,16"]) is None
    assert check_overrides("train", ["--cfg", "job", "model.hidden_size=-3"]) is None


def _defaults_against_yaml(node: DictConfig, key: str) -> Iterator[tuple[str, Any, Any]]:
    """``(key, python default, yaml value)`` for every argument a ``_target_`` node sets itself
    (not by interpolation) whose parameter also has a Python default, nested targets included."""
    target = node.get("_target_")
    if target:
        for name, parameter in signature_parameters(get_object(target)).items():
            if name not in node or OmegaConf.is_interpolation(node, name):
                continue
            value = node[name]
            if isinstance(value, DictConfig) or parameter.default is inspect.Parameter.empty:
                continue
            if isinstance(value, ListConfig):
                value = OmegaConf.to_container(value)
            yield f"{key}.{name}", parameter.default, value
    for name in node:
        child = node._get_node(name)
        if isinstance(child, DictConfig) and not OmegaConf.is_interpolation(node, str(name)):
            yield from _defaults_against_yaml(child, f"{key}.{name}")


@pytest.mark.parametrize("app", available_apps())
def test_python_defaults_are_the_defaults_runs_use(app: str, tmp_path: Path) -> None:
    """Whoever builds a model or datamodule in Python gets what ``lstm-apps train app=…`` trains."""
    cfg = compose_config("train", [f"app={app}"], tmp_path)
    drifted = [
        f"{key}: python {default!r}, yaml {value!r}"
        for section in ("data", "model")
        for key, default, value in _defaults_against_yaml(cfg[section], section)
        if default != value
    ]
    assert not drifted, drifted
    assert any(True for section in ("data", "model") for _ in _defaults_against_yaml(cfg[section], section))

"""The installable package: configs ship in the wheel, optional extras fail in one line, and users'
own config folders are searched."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from lstm_apps.cli.preflight import check_overrides
from lstm_apps.errors import UserError
from lstm_apps.extras import all_extras, require_extra
from lstm_apps.paths import available_apps, config_dir

ROOT = Path(__file__).resolve().parents[1]

USER_EXPERIMENT = """\
# @package _global_
defaults:
  - override /app: textgen
run_group: mine
seed: 7
"""


def _build_wheel(out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = out.glob("lstm_apps-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


def test_wheel_carries_every_config_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        f"lstm_apps/configs/{p.relative_to(ROOT / 'configs').as_posix()}"
        for p in (ROOT / "configs").rglob("*.yaml")
    }
    assert shipped and shipped <= names
    assert "lstm_apps/cli/main.py" in names
    assert not any(n.startswith(("tests/", "bench/", "configs/")) for n in names)


def test_wheel_carries_the_playground_page_and_every_app_form(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shared = {f"lstm_apps/serving/playground/{n}" for n in ("index.html", "playground.css", "playground.js")}
    forms = {
        f"lstm_apps/apps/{p.parent.name}/playground.js"
        for p in (ROOT / "src/lstm_apps/apps").glob("*/serving.py")
    }
    assert forms and shared | forms <= names


def test_wheel_metadata_names_the_extras_and_no_exact_torch_pin(wheel: Path) -> None:
    (metadata,) = [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("METADATA")]
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    for extra in [*all_extras(), "all"]:
        assert f"Provides-Extra: {extra}" in text
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist: torch")]
    assert requires and not any("==" in line for line in requires)


@pytest.mark.slow
def test_installed_wheel_trains_from_an_empty_folder(wheel: Path, tmp_path: Path) -> None:
    """Installed without the checkout on the path: the CLI composes from the shipped configs, and
    a user's own experiment file in their project folder is found with ``--config-dir``."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    # Dependencies come from this environment's packages as a plain path entry: its .pth files
    # (among them the editable install of the checkout) are not processed.
    fresh_site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (fresh_site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "LSTM_APPS_CONFIG_DIR", "LSTM_APPS_ROOT")
    }
    project = tmp_path / "project"
    (project / "conf" / "experiment").mkdir(parents=True)
    (project / "conf" / "experiment" / "mine.yaml").write_text(USER_EXPERIMENT)

    where = subprocess.run(
        [python, "-c", "import lstm_apps.paths as p; print(p.config_dir())"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(env_dir), where

    cli = str(env_dir / "bin" / "lstm-apps")
    run = subprocess.run(
        [cli, "train", "app=textgen", "debug=fast"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert list((project / "runs" / "debug").glob("*/checkpoints/last.ckpt"))

    # The user's experiment composes from their folder (what it trains is the run above's code).
    mine = subprocess.run(
        [cli, "train", "--config-dir", "conf", "experiment=mine", "--cfg", "job"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert mine.returncode == 0, mine.stderr[-2000:]
    composed = OmegaConf.create(mine.stdout)
    assert composed.seed == 7 and composed.run_group == "mine" and composed.app_name == "textgen"


@pytest.mark.parametrize("extra", sorted(all_extras()))
def test_a_missing_extra_is_named_in_one_line(extra: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in all_extras()[extra]:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(UserError) as err:
        require_extra(extra, "this run")
    message = str(err.value)
    assert "\n" not in message and f"lstm-apps[{extra}]" in message


def test_export_to_onnx_without_the_export_extra_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from lstm_apps.pipeline.export import export

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    cfg = OmegaConf.create({"format": "onnx", "ckpt_path": "missing.ckpt", "output_dir": None})
    with pytest.raises(UserError, match=r"lstm-apps\[export\]"):
        export(cfg)


def test_user_config_folder_adds_experiments_and_apps(tmp_path: Path) -> None:
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(USER_EXPERIMENT)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "myapp.yaml").write_text("# a user's own app\n")
    check_overrides("train", ["--config-dir", str(tmp_path), "experiment=mine"])
    check_overrides("train", [f"--config-dir={tmp_path}", "experiment=mine"])
    with pytest.raises(UserError, match="experiment/mine"):
        check_overrides("train", ["experiment=mine"])
    with pytest.raises(UserError, match="no such folder"):
        check_overrides("train", ["--config-dir", str(tmp_path / "nope"), "app=textgen"])
    assert "myapp" in available_apps([tmp_path]) and "myapp" not in available_apps()
    assert config_dir() == ROOT / "configs"

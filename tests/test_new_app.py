"""``lstm-apps new-app``: a new app written as a renamed copy of another, touching no shared file —
into a checkout (only its own new files) or as a project of its own that installs with
``pip install -e``, registers through the entry-point group and trains, predicts and serves."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import requests
from omegaconf import OmegaConf

from helpers.running import run_main
from helpers.serving import Server, free_port, stop, wait_until_ready
from lstm_apps.apps.scaffold import into_project, into_repository
from lstm_apps.errors import UserError
from lstm_apps.registry import apps

REPO = Path(__file__).resolve().parents[1]
SOURCE = "classifier"
NEW = next(f"mine{i}" for i in range(100) if f"mine{i}" not in apps())  # a name no app has yet


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def test_into_a_checkout_it_writes_only_its_own_files_with_every_name_changed(tmp_path: Path) -> None:
    written = into_repository(NEW, SOURCE, tmp_path)
    source = apps()[SOURCE]
    package = Path(f"src/lstm_apps/apps/{NEW}")
    own = {package / p.name for p in source.folder.glob("*.py")} | {package / "playground.js"}
    configs = {Path(f"configs/{group}/{NEW}.yaml") for group in ("app", "data", "model", "predict")}
    configs.add(Path(f"configs/hparams_search/{NEW}_optuna.yaml"))
    assert files_under(tmp_path) == own | configs | {
        Path(f"apps/{NEW}/README.md"),
        Path(f"tests/test_{NEW}.py"),
    }
    code = {p: (tmp_path / p).read_text() for p in own if p.suffix == ".py"}
    for path, text in code.items():
        ast.parse(text, str(path))  # valid Python
        assert source.package not in text and f'"{SOURCE}"' not in text, path
    init = code[package / "__init__.py"]
    assert f'name="{NEW}"' in init and "recipes=" not in init and "Recipe" not in init
    assert f'app_name = "{NEW}"' in code[package / "model.py"]
    app_yaml = OmegaConf.load(tmp_path / f"configs/app/{NEW}.yaml")
    assert app_yaml.app_name == NEW and list(app_yaml.defaults) == [
        {"/data": NEW},
        {"/model": NEW},
    ]
    for group in ("data", "model"):
        target = OmegaConf.load(tmp_path / f"configs/{group}/{NEW}.yaml")._target_
        assert target.startswith(f"lstm_apps.apps.{NEW}."), target
    assert f"prepared/{NEW}" in (tmp_path / f"configs/data/{NEW}.yaml").read_text()
    assert (tmp_path / f"apps/{NEW}/README.md").read_text().startswith(f"# {NEW} (`app={NEW}`)")
    search = OmegaConf.load(tmp_path / f"configs/hparams_search/{NEW}_optuna.yaml")
    assert {"override /app": NEW} in list(search.defaults) and search.search.study_name == NEW
    assert written.package == tmp_path / package


def test_every_app_can_be_copied_into_valid_python(tmp_path: Path) -> None:
    for i, name in enumerate(apps()):
        written = into_project(f"copy{i}", name, tmp_path / name)
        for path in written.package.glob("*.py"):
            text = path.read_text()
            ast.parse(text, str(path))
            assert apps()[name].package not in text, path
        assert (written.package / "__init__.py").read_text().count(f'name="copy{i}"') == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad-Name", "--from", SOURCE], "app name 'Bad-Name': use 2-31 lowercase letters"),
        (["class", "--from", SOURCE], "app name 'class': use 2-31 lowercase letters"),
        (
            ["tagger", "--from", SOURCE],
            "app name 'tagger': an app of that name exists (lstm_apps.apps.tagger)",
        ),
        (["mine", "--from", "nosuch"], "--from nosuch: unknown app (available: "),
        (["mine"], "the following arguments are required: --from"),
    ],
)
def test_a_bad_request_is_one_line_and_writes_nothing(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(["new-app", *args, "--dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"lstm-apps: error: {message}"), err
    assert not (tmp_path / "out").exists()


def test_a_folder_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match=r"--dir .*: not empty; give a new or empty folder"):
        into_project(NEW, SOURCE, tmp_path)
    with pytest.raises(UserError, match=rf"configs/app/{NEW}.yaml: already exists"):
        (tmp_path / "configs/app").mkdir(parents=True)
        (tmp_path / f"configs/app/{NEW}.yaml").write_text("")
        into_repository(NEW, SOURCE, tmp_path)


def fresh_environment(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A new virtual environment that sees this environment's packages as a plain path (its .pth
    files unprocessed) and this checkout's source, and nothing installed in it."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "dependencies.pth").write_text(f"{REPO / 'src'}\n{sysconfig.get_paths()['purelib']}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LSTM_APPS_CONFIG_DIR")}
    return python, {**env, "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"}


@pytest.mark.slow
def test_a_project_of_its_own_installs_registers_trains_predicts_and_serves(tmp_path: Path) -> None:
    """Its own test (train and predict through ``--config-dir``) passes in a fresh environment
    where it is installed with ``pip install -e``; its checkpoint is then served."""
    project = tmp_path / NEW
    python, env = fresh_environment(tmp_path)
    into_project(NEW, SOURCE, project)
    before = subprocess.run(  # not installed yet: an unknown app, in one line
        [python, "-m", "lstm_apps.cli.main", "train", f"app={NEW}"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert before.returncode == 2 and f"unknown app '{NEW}'" in before.stderr, before.stderr
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps"]
    subprocess.run([*install, "--no-build-isolation", "-e", str(project)], check=True, capture_output=True)

    own_tests = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "own"),
            "tests",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert own_tests.returncode == 0 and "1 passed" in own_tests.stdout, own_tests.stdout[-3000:]
    (ckpt,) = (tmp_path / "own").glob(f"test_{NEW}_trains*[0-9]/run/checkpoints/last.ckpt")

    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    serve = [python, "-m", "lstm_apps.cli.main", "serve", f"ckpt_path={ckpt}", f"serve.port={port}"]
    process = subprocess.Popen(
        [*serve, "serve.accelerator=cpu"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    server = Server(f"http://127.0.0.1:{port}", process, tmp_path / "serve.log")
    try:
        wait_until_ready(server)
        info = server.get("/info").json()["model"]
        assert info["app"] == NEW and info["checkpoint"] == str(ckpt)  # found by its entry point
        answer = requests.post(server.url + "/predict", json={"text": "the striker scored"}, timeout=60)
        assert answer.status_code == 200 and set(answer.json()) >= {"labels", "probabilities"}, answer.text
    finally:
        assert stop(process) == 0


def test_without_a_checkout_it_asks_for_a_folder_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An installed lstm-apps (its configs inside the package) has no checkout to write into."""
    (tmp_path / "lstm_apps" / "configs").mkdir(parents=True)
    monkeypatch.setenv("LSTM_APPS_CONFIG_DIR", str(tmp_path / "lstm_apps" / "configs"))
    assert run_main(["new-app", NEW, "--from", SOURCE]) == 2
    assert capsys.readouterr().err.strip() == (
        "lstm-apps: error: lstm-apps is installed, not a checkout: write the app as your own project with --dir DIR"
    )
    assert not list(tmp_path.rglob("*.py"))

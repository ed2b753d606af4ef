"""Writes a new app as a copy of an existing one: its package, its config files, its guide and its
test file, renamed so that it trains, evaluates, predicts, exports and serves at once.

Inside this repository (``into_repository``) the package goes under ``src/lstm_apps/apps/<name>``,
where the registry finds it by its folder; as a user's own project (``into_project``) it is an
installable package of its own that registers itself in the ``lstm_apps.apps`` entry-point group,
with its configs in ``conf/`` for ``--config-dir``. Nothing shared is edited either way.
"""

from __future__ import annotations

import ast
import keyword
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from lstm_apps.errors import UserError
from lstm_apps.paths import config_dir
from lstm_apps.registry import App, apps

NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
# The config files that make ``app=<name>``: group -> the file's name for app ``{}``.
CONFIG_FILES = {
    "app": "{}.yaml",
    "data": "{}.yaml",
    "model": "{}.yaml",
    "predict": "{}.yaml",
    "hparams_search": "{}_optuna.yaml",
}
COPIED = ("*.py", "*.js")


@dataclass(frozen=True)
class Written:
    """What ``new-app`` wrote: the package, each config file, the guide and the test file."""

    package: Path
    configs: list[Path]
    guide: Path
    tests: Path
    extra: list[Path]

    def all(self) -> list[Path]:
        return [self.package, *self.configs, self.guide, self.tests, *self.extra]


def check_name(name: str) -> None:
    """One line when ``name`` cannot be a new app's name."""
    if not NAME.match(name) or keyword.iskeyword(name):
        raise UserError(
            f"app name {name!r}: use 2-31 lowercase letters, digits or _, starting with a letter "
            "(it becomes a Python package and app=<name>)"
        )
    if name in apps():
        raise UserError(f"app name {name!r}: an app of that name exists ({apps()[name].package})")


def source_app(name: str) -> App:
    found = apps()
    if name not in found:
        raise UserError(f"--from {name}: unknown app (available: {', '.join(found)})")
    return found[name]


def renamed(text: str, source: App, name: str, package: str) -> str:
    """``text`` with the source app's package path, its name as a value (``"tagger"``,
    ``app=tagger``, ``data/tagger``, ``prepared/tagger``) and its config groups' names replaced;
    its name in prose stays (the guide says where it came from)."""
    old = source.name
    text = text.replace(source.package, package)
    text = re.sub(rf"""(["'])({re.escape(old)})\1""", rf"\g<1>{name}\g<1>", text)
    keys = r"(?<![\w./])(app_name|app|/data|/model|/app|predict|study_name)"
    text = re.sub(rf"{keys}(\s*[=:]\s*){re.escape(old)}\b", rf"\1\2{name}", text)
    text = re.sub(rf"(/|prepare ){re.escape(old)}\b", rf"\g<1>{name}", text)
    text = re.sub(rf"\b{re.escape(old)}_optuna\b", f"{name}_optuna", text)
    return text


def without_recipes(init_source: str) -> str:
    """The copied ``__init__`` with the ``recipes=`` and ``bench=…serve`` of the ``App`` call
    dropped: those rows belong to the app it came from (their experiments train that app)."""
    tree = ast.parse(init_source)
    cuts: list[tuple[int, int]] = []
    offsets = [0]
    for line in init_source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "App":
            for keyword_ in node.keywords:
                if keyword_.arg == "recipes":
                    value = keyword_.value
                    assert value.end_lineno is not None and value.end_col_offset is not None
                    start = offsets[keyword_.lineno - 1] + keyword_.col_offset
                    end = offsets[value.end_lineno - 1] + value.end_col_offset
                    if init_source[end : end + 1] == ",":
                        end += 1
                    cuts.append((start, end))
    for start, end in sorted(cuts, reverse=True):
        line_start = init_source.rfind("\n", 0, start) + 1
        if not init_source[line_start:start].strip():  # the keyword alone on its lines
            start = line_start
            end = init_source.find("\n", end) + 1 if init_source.find("\n", end) >= 0 else end
        init_source = init_source[:start] + init_source[end:]
    return without_unused_constants(init_source, _names_read(tree))


def _names_read(tree: ast.AST) -> set[str]:
    return {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def without_unused_constants(source: str, read_before: set[str]) -> str:
    """``source`` without the module-level constants that were read before (``read_before``) and
    are read no more, with the comment lines just above each, until none is left."""
    while True:
        tree = ast.parse(source)
        gone = read_before - _names_read(tree)
        unused = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id in gone for t in node.targets)
        ]
        imports = [
            node
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and any(alias.name in gone for alias in node.names)
        ]
        if not unused and not imports:
            return source
        lines = source.splitlines(keepends=True)
        for node in sorted([*unused, *imports], key=lambda n: n.lineno, reverse=True):
            assert node.end_lineno is not None
            if isinstance(node, ast.ImportFrom):
                kept = ", ".join(a.name for a in node.names if a.name not in gone)
                lines[node.lineno - 1 : node.end_lineno] = (
                    [f"from {node.module} import {kept}\n"] if kept else []
                )
                continue
            assert node.end_lineno is not None
            first = node.lineno - 1
            while first > 0 and lines[first - 1].lstrip().startswith("#"):
                first -= 1
            del lines[first : node.end_lineno]
        source = re.sub(r"\n{4,}", "\n\n\n", "".join(lines))


def copy_package(source: App, name: str, package: str, target: Path) -> None:
    """The source app's modules and scripts, renamed, into ``target`` (no caches, no data)."""
    if target.exists():
        raise UserError(f"{target}: already exists; choose another name or remove it")
    target.mkdir(parents=True)
    for pattern in COPIED:
        for path in sorted(source.folder.glob(pattern)):
            text = renamed(path.read_text(), source, name, package)
            if path.name == "__init__.py":
                text = without_recipes(text)
            (target / path.name).write_text(text)


def write_configs(source: App, name: str, package: str, folder: Path) -> list[Path]:
    """``app/``, ``data/``, ``model/`` and ``predict/`` files for ``name`` under ``folder``, from the
    source app's (its data sub-groups, such as ``data/corpus``, are shared and stay as they are)."""
    written = []
    for group, pattern in CONFIG_FILES.items():
        original = config_dir() / group / pattern.format(source.name)
        if not original.is_file():
            continue
        path = folder / group / pattern.format(name)
        if path.exists():
            raise UserError(f"{path}: already exists; choose another name or remove it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(renamed(original.read_text(), source, name, package))
        written.append(path)
    return written


def guide(source: App, name: str, commands: str) -> str:
    """The new app's user guide, to be filled in as the app becomes its own."""
    return f"""# {name} (`app={name}`)

> A new app, started as a copy of `{source.name}` by `lstm-apps new-app {name} --from {source.name}`:
> it trains, evaluates, predicts, exports and serves as that app does. `docs/adding-an-app.md`
> walks through turning it into a task of its own.

## What it does

{source.summary} (as `{source.name}` does, until you change it).

## Commands

```bash
{commands}
```

## Data

The default data is the copied app's; `data/corpus=…` (or the data group's other options) choose
another source, and a reader of your own goes in the package beside `datamodule.py`.

## Results

Not measured yet: run the default training and write its test scores here, with the machine.
"""


REPO_TEST = '''"""What only the {name} app does. Every app's contract (train, eval, predict, export, int8, bf16,
DDP, serving and its playground form) runs on it from its tiny setup: ``pytest -k {name}``."""

from __future__ import annotations

from lstm_apps.paths import config_dir
from lstm_apps.registry import apps


def test_{name}_is_found_by_its_folder_with_its_configs() -> None:
    spec = apps()["{name}"]
    assert spec.package == "lstm_apps.apps.{name}" and spec.folder.name == "{name}"
    for group in ("app", "data", "model", "predict"):
        assert (config_dir() / group / "{name}.yaml").is_file(), group
'''

PROJECT_TEST = '''"""The {name} app end to end through the installed ``lstm-apps``: trained on its tiny data with
this project's configs (``--config-dir conf``), then used by ``lstm-apps predict``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from {name}.tiny import tiny

CONF = Path(__file__).resolve().parents[1] / "conf"
FEW = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
       "trainer.limit_test_batches=1"]


def lstm_apps(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lstm_apps.cli.main", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def test_{name}_trains_and_predicts(tmp_path: Path) -> None:
    setup = tiny(tmp_path / "data")
    trained = lstm_apps("train", "--config-dir", str(CONF), *setup.overrides, *FEW,
                        f"hydra.run.dir={{tmp_path / 'run'}}", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    predicted = lstm_apps("predict", "--config-dir", str(CONF), f"ckpt_path={{ckpt}}", *setup.predict,
                          cwd=tmp_path)
    assert predicted.returncode == 0 and predicted.stdout.strip(), predicted.stderr[-3000:]
'''

PYPROJECT = """[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.1.0"
description = "{summary}"
requires-python = ">=3.10"
dependencies = ["lstm-apps"]

# How lstm-apps finds this app: its train, eval, predict, export, serve and prepare commands.
[project.entry-points."lstm_apps.apps"]
{name} = "{name}:APP"

[tool.hatch.build.targets.wheel]
packages = ["src/{name}"]
dev-mode-dirs = ["src"]  # pip install -e: src/ on the path (a .pth file)
"""


def into_repository(name: str, source_name: str, root: Path) -> Written:
    """``name`` as an app of this repository (``root``: the checkout), copied from ``source_name``."""
    check_name(name)
    source = source_app(source_name)
    package = f"lstm_apps.apps.{name}"
    target = root / "src" / "lstm_apps" / "apps" / name
    guide_path = root / "apps" / name / "README.md"
    test_path = root / "tests" / f"test_{name}.py"
    for path in (guide_path.parent, test_path):
        if path.exists():
            raise UserError(f"{path}: already exists; choose another name or remove it")
    copy_package(source, name, package, target)
    configs = write_configs(source, name, package, root / "configs")
    guide_path.parent.mkdir(parents=True)
    commands = f"make train APP={name}\nmake predict APP={name} ARGS='…'\nmake serve APP={name}"
    guide_path.write_text(guide(source, name, commands))
    test_path.parent.mkdir(parents=True, exist_ok=True)
    test_path.write_text(REPO_TEST.format(name=name))
    return Written(target, configs, guide_path, test_path, [])


def into_project(name: str, source_name: str, folder: Path) -> Written:
    """``name`` as a project of its own in ``folder``: ``src/<name>`` (the package), ``conf/`` (its
    configs, for ``--config-dir``), ``pyproject.toml`` (its entry point), its guide and test."""
    check_name(name)
    source = source_app(source_name)
    if folder.exists() and any(folder.iterdir()):
        raise UserError(f"--dir {folder}: not empty; give a new or empty folder")
    target = folder / "src" / name
    copy_package(source, name, name, target)
    configs = write_configs(source, name, name, folder / "conf")
    pyproject = folder / "pyproject.toml"
    pyproject.write_text(PYPROJECT.format(name=name, summary=source.summary.replace('"', "'")))
    guide_path = folder / "README.md"
    commands = (
        f"pip install -e .\nlstm-apps train --config-dir conf app={name}\n"
        f"lstm-apps predict --config-dir conf ckpt_path=runs/{name}/…/checkpoints/last.ckpt …\n"
        f"lstm-apps serve ckpt_path=runs/{name}/…/checkpoints/last.ckpt\npytest"
    )
    guide_path.write_text(guide(source, name, commands))
    test_path = folder / "tests" / f"test_{name}.py"
    test_path.parent.mkdir(parents=True)
    test_path.write_text(PROJECT_TEST.format(name=name))
    return Written(target, configs, guide_path, test_path, [pyproject])


def remove(written: Written) -> None:
    """Undo a half-written app (used when writing fails part-way)."""
    for path in written.all():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

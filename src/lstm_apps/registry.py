"""Which apps exist, and everything shared code needs to know of each: one ``App`` per app.

An app declares itself once, as ``APP = App(...)`` in its package's ``__init__.py``. The apps are
every package under ``lstm_apps.apps`` that has an ``APP`` (found by its folder: no registration
line anywhere) and every ``App`` that another installed package declares in the ``lstm_apps.apps``
entry-point group (``myapp = "my_package:APP"``). The command line, ``prepare``, the server, the
playground, the benchmarks and every cross-app test loop over ``apps()``; none lists app names.

This module is imported by each app's ``__init__``, so it stays light: the standard library only,
and an app's parts (predictor, endpoints, tiny setup …) are named as ``"module:attribute"``
relative to its package and imported when first used.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from lstm_apps.errors import UserError

ENTRY_POINT_GROUP = "lstm_apps.apps"
BUILT_IN_PACKAGE = "lstm_apps.apps"


@dataclass(frozen=True)
class Extra:
    """An optional package set the app needs for some runs: ``pip install 'lstm-apps[<name>]'``
    (or the app's own package's extra), and the modules that must import for it."""

    name: str
    modules: tuple[str, ...]


@dataclass(frozen=True)
class Recipe:
    """One ``lstm-apps train`` of the results pages, run side by side by ``make bench-gpu``.

    ``prepare``: ``[app, dataset, subfolder of --datasets]`` for ``lstm-apps prepare``; ``setup``:
    commands run after every preparation, before the timed part; ``after``: recipes whose best
    checkpoints it starts from (``{best:<name>}`` in ``train``), so it starts when they end;
    ``share``: the part of the training time its ``max_time`` gets (a recipe others wait for takes
    half); ``extras``: optional package sets it needs. ``{data_dir}``, ``{python}`` and ``{bench}``
    (the benchmarks' folder) are filled in when it runs."""

    name: str
    train: list[str]
    metric: str
    prepare: list[list[str]] = field(default_factory=list)
    setup: list[list[str]] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    share: float = 1.0
    extras: list[str] = field(default_factory=list)


def experiment(name: str, metric: str, *prepare: tuple[str, str, str], **more: Any) -> Recipe:
    """The recipe ``experiment=<name>``, with the ``lstm-apps prepare`` runs it reads."""
    return Recipe(name, [f"experiment={name}"], metric, [list(step) for step in prepare], **more)


def rows_of_first_tensor(batch: Any) -> int:
    """What most apps count per training step: the rows (examples) of the batch's first tensor."""
    return int(first_tensor(batch).size(0))


def first_tensor(batch: Any) -> Any:
    """The first tensor of a batch: its first value with a shape (dict batches) or its first item."""
    if isinstance(batch, Mapping):
        return next(value for value in batch.values() if getattr(value, "ndim", 0) >= 1)
    return batch[0]


@dataclass(frozen=True)
class ServeBench:
    """The served model ``make bench-serve`` measures: ``setup`` (``"module:function"`` of the
    app, (folder, sentences) -> (train overrides, text -> request body)) trains it at its recipe's
    size on synthetic sentences; requests carry a uniform number of words in ``request_words`` (the
    mean of the recipe's test set in the middle)."""

    setup: str
    request_words: tuple[int, int]


@dataclass(frozen=True)
class Bench:
    """How ``make bench`` measures the app.

    ``units``: what the throughput column counts, and ``count`` counts them in a training batch;
    ``steps``/``gpu_steps``: timed training steps on a CPU/GPU; ``scaling_steps``: batches per
    process in the 1-vs-2-processes runs (``scaling_units`` names their column); ``data``: data
    overrides the app is benchmarked with; ``gpu_cases``: extra GPU training rows (title,
    overrides); ``decoders``: (column, search settings of ``decode_batch``), where a callable value
    is made once from the trained model and its datamodule; ``features``: computes the features
    the network makes from raw input (its share of a training step is measured);
    ``operator_calls``: batches by name built from a set-up datamodule, whose training step's
    operator calls are counted (with ``operator_overrides``); ``serve``: the served model of
    ``make bench-serve``."""

    units: str
    steps: int = 20
    gpu_steps: int = 60
    scaling_steps: int = 20
    scaling_units: str | None = None
    count: Callable[[Any], int] = rows_of_first_tensor
    data: tuple[str, ...] = ()
    gpu_cases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    decoders: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    decode_units: str = "sentences"
    decode_note: str = ""
    decode_target: str = ""
    features: Callable[[Any, Any], Any] | None = None
    operator_calls: Callable[[Any, int], dict[str, Any]] | None = None
    operator_overrides: tuple[str, ...] = ()
    operator_note: str = ""
    serve: ServeBench | None = None


@dataclass(frozen=True)
class FormStep:
    """One action on the app's playground form: ``fill`` an input with ``value``, give a ``file``
    input the path ``value`` (a callable gets a scratch folder and returns the text or path), or
    ``click`` an element."""

    action: str
    element: str
    value: str | Callable[[Path], str] = ""

    def apply(self, driver: Any, scratch: Path) -> None:
        """Do the step in a Selenium ``driver`` (files a callable value makes go in ``scratch``):
        a value is set as typing leaves it (an ``input`` event fires), a file chosen, a click."""
        from selenium.webdriver.common.by import By

        element = driver.find_element(By.CSS_SELECTOR, self.element)
        value = self.value(scratch) if callable(self.value) else self.value
        if self.action == "fill":
            script = "arguments[0].value = arguments[1];"
            script += "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
            driver.execute_script(script, element, value)
        elif self.action == "file":
            element.send_keys(value)
        elif self.action == "click":
            element.click()
        else:
            raise ValueError(f"form step {self.action!r}: fill, file or click")


@dataclass(frozen=True)
class Playground:
    """Filling the app's form: the steps, the CSS selector of what its answer shows, and steps on the
    answer."""

    steps: tuple[FormStep, ...]
    answer: str
    after: tuple[FormStep, ...] = ()  # once the answer shows (a click on part of it)


@dataclass(frozen=True)
class Tiny:
    """The app on data small enough to train in a second or two on a CPU, written under a folder:
    the Hydra ``overrides`` that train it, the ``lstm-apps predict`` options that use the trained
    model, one request its ``/predict`` endpoint answers (``json``, or multipart ``files`` of
    field -> path plus ``form`` fields) with the keys every answer has, the playground form filled
    for it, and ``steady``: overrides giving at least 9 training batches where the default
    callbacks' steady-state steps are counted at batches of 2 (too few for the smallest data)."""

    overrides: list[str]
    predict: list[str]
    request_json: dict[str, Any] | None = None
    request_files: dict[str, Path] | None = None
    request_form: dict[str, str] | None = None
    answer_keys: frozenset[str] = frozenset()
    playground: Playground | None = None
    steady: tuple[str, ...] = ()


# What every tiny setup adds: no progress bar, no sanity check, the minimal callbacks.
QUIET = ["callbacks=minimal", "trainer.enable_progress_bar=false", "trainer.num_sanity_val_steps=0"]


@dataclass(frozen=True)
class App:
    """Everything shared code needs to know of one app. Parts are ``"module:attribute"`` inside
    ``package`` (the app's own), imported when first used.

    ``summary``: one line for listings; ``extras``: optional package sets its default run needs;
    ``predictor``: its ``lstm-apps predict`` (a ``Predictor`` class); ``endpoints``: its
    ``lstm-apps serve`` endpoints (``AppAPI`` classes); ``playground``: the form's script, a file
    in the package; ``prepare``: the module offering public data sets, if any; ``tiny``: a function
    (folder -> ``Tiny``) for the tests; ``bench``; ``recipes``: its rows of the results pages;
    ``example``: the playground filled with a realistic input (the guides' screenshots)."""

    name: str
    package: str
    summary: str
    extras: tuple[Extra, ...] = ()
    predictor: str = "predictor:PREDICTOR"
    endpoints: str = "serving:ENDPOINTS"
    playground: str = "playground.js"
    prepare: str | None = "prepare"
    tiny: str = "tiny:tiny"
    bench: Bench | None = None
    recipes: tuple[Recipe, ...] = ()
    example: Playground | None = None

    def part(self, reference: str) -> Any:
        """``"module:attribute"`` of the app's package, imported."""
        module, _, attribute = reference.partition(":")
        return getattr(importlib.import_module(f"{self.package}.{module}"), attribute)

    @property
    def folder(self) -> Path:
        """The app's package folder."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"app {self.name!r}: package {self.package} not found")
        return Path(next(iter(spec.submodule_search_locations)))

    def playground_script(self) -> Path:
        return self.folder / self.playground

    def preparation(self) -> Any:
        """The app's preparation module (``DATASETS``, ``prepare``), or None when it has none."""
        if self.prepare is None:
            return None
        name = f"{self.package}.{self.prepare}"
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)

    def tiny_setup(self, folder: Path) -> Tiny:
        """The app's tiny data written under ``folder``, and its ``Tiny``."""
        return self.part(self.tiny)(folder)


@functools.cache
def apps() -> dict[str, App]:
    """Every app, by name, sorted: the packages under ``lstm_apps.apps`` that declare ``APP`` and
    the entry points of the ``lstm_apps.apps`` group."""
    found: dict[str, App] = {}
    built_in = importlib.import_module(BUILT_IN_PACKAGE)
    for info in pkgutil.iter_modules(built_in.__path__):
        if not info.ispkg:
            continue
        spec = getattr(importlib.import_module(f"{BUILT_IN_PACKAGE}.{info.name}"), "APP", None)
        if isinstance(spec, App):
            found[spec.name] = spec
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = point.load()
        except Exception as error:  # a broken third-party package: one line naming it
            raise UserError(
                f"the app {point.name!r} of entry point {point.value!r} ({ENTRY_POINT_GROUP}) does not "
                f"load: {type(error).__name__}: {error}"
            ) from None
        if not isinstance(spec, App):
            raise UserError(f"entry point {point.value!r} ({ENTRY_POINT_GROUP}) is not an App")
        if spec.name in found and found[spec.name].package != spec.package:
            raise UserError(
                f"two apps are named {spec.name!r}: {found[spec.name].package} and {spec.package}"
            )
        found[spec.name] = spec
    return dict(sorted(found.items()))


def app_names() -> list[str]:
    return list(apps())


def app(name: str) -> App:
    """The app named ``name``, or one line naming the apps there are."""
    found = apps()
    if name not in found:
        raise UserError(f"unknown app {name!r} (available: {', '.join(found)})")
    return found[name]


def app_extras() -> dict[str, tuple[str, ...]]:
    """The optional package sets the apps declare: extra name -> modules."""
    return {extra.name: extra.modules for spec in apps().values() for extra in spec.extras}

"""``lstm_apps.registry``: apps found by their folders and through the ``lstm_apps.apps`` entry-point
group, and a broken or clashing registration refused in one line."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

from lstm_apps import registry
from lstm_apps.errors import UserError
from lstm_apps.registry import App

# Stand-ins an entry point can name (``tests`` is on the path: ``test_registry:…``).
OTHER = App("otherapp", "otherpkg", "an app of another package")
CLASH = App("tagger", "otherpkg", "a second app named tagger")
NOT_AN_APP = object()


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    """The group's entry points as a test sets them; the registry read afresh before and after."""
    points: list[EntryPoint] = []
    monkeypatch.setattr(registry, "entry_points", lambda group: [p for p in points if p.group == group])
    registry.apps.cache_clear()
    yield points
    registry.apps.cache_clear()


def point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name, value, registry.ENTRY_POINT_GROUP)


def test_an_installed_packages_app_joins_the_built_in_ones(entry_points: list[EntryPoint]) -> None:
    built_in = set(registry.apps())
    entry_points.append(point("otherapp", "test_registry:OTHER"))
    registry.apps.cache_clear()
    assert set(registry.apps()) == built_in | {"otherapp"} and registry.app("otherapp") is OTHER


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "no_such_module_here:APP",
            "the app 'x' of entry point 'no_such_module_here:APP' (lstm_apps.apps) does not load: ModuleNotFoundError",
        ),
        ("test_registry:NOT_AN_APP", "entry point 'test_registry:NOT_AN_APP' (lstm_apps.apps) is not an App"),
        ("test_registry:CLASH", "two apps are named 'tagger': lstm_apps.apps.tagger and otherpkg"),
    ],
)
def test_a_broken_registration_is_one_line(entry_points: list[EntryPoint], value: str, message: str) -> None:
    entry_points.append(point("x", value))
    with pytest.raises(UserError) as refused:
        registry.apps()
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_an_unknown_app_is_one_line_naming_the_apps() -> None:
    with pytest.raises(UserError, match=r"^unknown app 'nosuch' \(available: .*classifier.*\)$"):
        registry.app("nosuch")

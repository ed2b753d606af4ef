"""Shared fixtures. Plain functions (configs, runners, data writers, the TINY registry) live in
``tests/helpers``: tests import them from there, never from this file."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.fixture_data import write_tiny_corpus


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> dict[str, Path]:
    return write_tiny_corpus(tmp_path)

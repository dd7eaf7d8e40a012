"""Fixtures of the fetch unit tests."""

from __future__ import annotations

from types import ModuleType

import pytest

from huntline.fetch.stix import collect


@pytest.fixture
def c_collector() -> ModuleType:
    """The C collector (``_occurrences.c``); a test that needs it skips without it, which in CI
    is a failure (``tests/conftest.py``)."""
    if collect.native is None:
        pytest.skip("the C collector (huntline.fetch.stix._occurrences) is not built")
    return collect.native

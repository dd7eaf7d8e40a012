"""Every huntline error survives pickle (Prefect persists failed tasks' exceptions that way)."""

from __future__ import annotations

import pickle

import pytest

from huntline import errors

ALL_ERRORS = [
    cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, errors.HuntlineError)
]


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_error_round_trips_through_pickle(cls: type[errors.HuntlineError]) -> None:
    error = cls("it broke", hint="do this", image="kestrel-analytics-x", exit_code=2)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is cls
    assert str(clone) == "it broke\n  hint: do this"
    assert clone.context["image"] == "kestrel-analytics-x"
    assert clone.context["exit_code"] == 2


def test_errors_inherit_builtins_where_they_fit() -> None:
    assert issubclass(errors.BookError, ValueError)
    assert issubclass(errors.StorageError, OSError)

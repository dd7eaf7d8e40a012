"""The tests of a hunt book: a sidecar ``BOOK.tests.yaml`` beside ``BOOK.yaml``.

A sidecar rather than a ``tests:`` section keeps the book what runs in production (short,
reviewable, the same bytes the manifest hashes) while its test data can grow as large as it
needs; and a book's tests can be added without touching the book. Its shape::

    cases:
      - name: comsvcs MiniDump by full path
        data:
          procs:                          # a variable a get step sets
            objects:                      # inline STIX: one entry per observed-data
              - {"0": {type: process, name: rundll32.exe, command_line: "..."}}
        expect:
          alerts: 1                       # or {min: 1, max: 3}
          all: ["title icontains 'comsvcs'"]   # every alert meets each condition
          any: ["severity == 'high'"]     # some alert meets each condition
      - name: a table instead of STIX
        data:
          procs: {table: data/procs.json} # parquet or JSON rows, Kestrel column names
      - name: a whole bundle
        data:
          procs: {bundle: data/sample.json}
      - name: a gate that cannot hold
        expect: {error: "gate 01_expect on procs failed"}
      - name: a retro-hunt                # a book whose patterns read {{ intel.TYPE }}
        indicators: {file_name: [mimi.exe]}
        data: {procs: {bundle: data/sample.json}}
        expect: {alerts: 1}

Conditions are the alert condition language (:mod:`huntline.expressions`) over the alerts:
``title``, ``severity``, ``entity_id``, ``entity_type``, ``tags`` and each alert's fields.
Paths are relative to the tests file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from huntline.book.files import TESTS_SUFFIX
from huntline.errors import BookError
from huntline.expressions import ConditionError, parse_condition
from huntline.yamlfile import load_yaml

DEFAULT_TIME = datetime(2024, 6, 3, 12, tzinfo=UTC)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SampleData(_Strict):
    """The data one variable's ``get`` step sees: exactly one of the three forms."""

    objects: list[dict[str, Any] | list[dict[str, Any]]] | None = Field(
        default=None, description="Inline STIX: each item is the objects of one observed-data"
    )
    bundle: Path | None = Field(default=None, description="A STIX bundle file")
    table: Path | None = Field(default=None, description="A parquet or JSON table of rows")

    @model_validator(mode="after")
    def _one_form(self) -> SampleData:
        given = [name for name in ("objects", "bundle", "table") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of objects:, bundle: or table:")
        return self


class Count(_Strict):
    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)

    def holds(self, count: int) -> bool:
        return count >= self.min and (self.max is None or count <= self.max)

    def __str__(self) -> str:
        return f"{self.min}..{'' if self.max is None else self.max}"


class Expected(_Strict):
    """What a case expects of the run."""

    alerts: int | Count | None = Field(default=None, description="How many alerts")
    all: list[str] = Field(default_factory=list, description="Conditions every alert meets")
    any: list[str] = Field(default_factory=list, description="Conditions some alert meets")
    error: str | None = Field(
        default=None, description="The run fails, with an error containing this text"
    )

    @field_validator("all", "any")
    @classmethod
    def _conditions(cls, values: list[str]) -> list[str]:
        for text in values:
            try:
                parse_condition(text)
            except ConditionError as error:
                raise ValueError(f"{text!r}: {error.message}") from error
        return values


class Case(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    time: datetime = Field(
        default=DEFAULT_TIME, description="When inline observations and table rows were seen"
    )
    data: dict[str, SampleData] = Field(default_factory=dict)
    indicators: dict[str, list[str]] | None = Field(
        default=None, description="Intel indicators by type, for books with {{ intel.TYPE }}"
    )
    expect: Expected


class BookTests(_Strict):
    """A tests file: the book it tests (default: the same stem) and its cases."""

    book: Path | None = None
    cases: list[Case] = Field(min_length=1)


class LoadedTests(BaseModel):
    """A loaded tests file with its paths resolved."""

    path: Path
    book: Path
    tests: BookTests

    def resolve(self, relative: Path) -> Path:
        return relative if relative.is_absolute() else self.path.parent / relative


def tests_file_for(book: Path) -> Path:
    return book.with_name(book.name.removesuffix(".yaml").removesuffix(".yml") + TESTS_SUFFIX)


def load_tests(path: Path) -> LoadedTests:
    """Read a tests file; raises :class:`BookError` listing every problem."""
    tests = load_yaml(path, BookError, "tests file").model(BookTests, BookError, "tests file")
    default_book = path.with_name(path.name.removesuffix(TESTS_SUFFIX) + ".yaml")
    book = path.parent / tests.book if tests.book else default_book
    return LoadedTests(path=path, book=book, tests=tests)

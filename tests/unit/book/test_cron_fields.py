"""Issue 23, item 11: an invalid cron said only "Invalid cron string"; the problem now names
the field at fault and why, at the book's line, and never refuses what Prefect accepts."""

from __future__ import annotations

import pytest

from huntline.book import parse_book
from huntline.book.cron_fields import cron_problem
from huntline.errors import BookError

BOOK = """\
id: 2b6f0d0e-1c9a-4c57-8f0e-6f1d2a3b4c5d
title: Nightly process sweep
schedule: {{cron: "{cron}", timezone: Europe/Paris}}
steps:
  - get: procs
    entity: process
    from: file://hunts/data/sample_endpoint_bundle.json
"""


@pytest.mark.parametrize(
    ("cron", "why"),
    [
        ("61 * * * *", "field 1 (minute) is '61': 61 is out of range (minute is 0-59)"),
        ("30 24 * * *", "field 2 (hour) is '24': 24 is out of range (hour is 0-23)"),
        ("0 3 0 * *", "field 3 (day-of-month) is '0': 0 is out of range (day-of-month is 1-31)"),
        (
            "0 3 * 13 *",
            "field 4 (month) is '13': 13 is out of range (month is 1-12 or jan-dec)",
        ),
        (
            "0 3 * * mon-fir",
            "field 5 (day-of-week) is 'mon-fir': 'fir' is not a number or a name "
            "(day-of-week is 0-7 or sun-sat)",
        ),
        (
            "*/0 3 * * *",
            "field 1 (minute) is '*/0': the step in '*/0' must be a whole number above 0",
        ),
        ("0,15,75 * * * *", "field 1 (minute) is '0,15,75': 75 is out of range (minute is 0-59)"),
    ],
)
def test_an_invalid_cron_names_the_field_and_why(cron: str, why: str) -> None:
    with pytest.raises(BookError) as caught:
        parse_book(BOOK.format(cron=cron), "hunts/sweep.yaml")
    assert caught.value.problems == [f"hunts/sweep.yaml:3 schedule.cron: cron {cron!r}: {why}"]


@pytest.mark.parametrize(
    "cron", ["0 9 * * mon-fri", "0 9 * * fri-mon", "0 0 L * *", "0 0 * * 1#2", "*/15 * * * *"]
)
def test_what_prefect_accepts_still_passes(cron: str) -> None:
    book = parse_book(BOOK.format(cron=cron), "hunts/sweep.yaml")
    assert book.schedule is not None and book.schedule.cron == cron


def test_a_wrong_field_count_is_left_to_prefects_message() -> None:
    assert cron_problem("*/99 * * *") is None


def test_the_docstring_example_runs() -> None:
    import doctest

    from huntline.book import cron_fields

    assert doctest.testmod(cron_fields).failed == 0

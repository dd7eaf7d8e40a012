"""The one window: UTC ends (a time without a zone is UTC), the start strictly before the stop,
and a book's ``window:`` resolving to it with the same rules and a located error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from huntline.book import parse_book
from huntline.errors import BookError, WindowError
from huntline.window import Window

JAN_1 = datetime(2021, 1, 1, tzinfo=UTC)


def test_window_is_utc_and_ordered() -> None:
    local = datetime(2021, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    window = Window(local, local + timedelta(hours=1))
    assert window.start == JAN_1 and window.start.tzinfo is UTC
    assert Window(datetime(2021, 1, 1), datetime(2021, 1, 2)) == Window(
        JAN_1, JAN_1 + timedelta(days=1)
    )
    with pytest.raises(
        WindowError,
        match=r"^window start 2021-01-01T00:00:00\+00:00 is not before stop 2021-01-01T00:00:00",
    ):
        Window(JAN_1, local)
    with pytest.raises(WindowError, match="window stop must be a datetime, got '2021-01-02'"):
        Window(JAN_1, "2021-01-02")  # type: ignore[arg-type]
    assert Window.last(timedelta(hours=2), now=JAN_1) == Window(JAN_1 - timedelta(hours=2), JAN_1)


def test_a_reversed_book_window_is_a_located_problem() -> None:
    text = """id: 6f1c1f4e-3c39-4f4e-9d7e-000000000001
title: reversed
window:
  start: 2024-01-02T00:00:00Z
  stop: 2024-01-01T00:00:00Z
steps:
  - get: procs
    entity: process
    from: file://x.json
    where: "[process:name = 'cmd.exe']"
"""
    with pytest.raises(BookError) as caught:
        parse_book(text, "r.yaml")
    assert caught.value.problems == [
        "r.yaml:4 window: window start 2024-01-02T00:00:00+00:00 is not before stop "
        "2024-01-01T00:00:00+00:00"
    ]


def test_a_book_window_resolves_to_the_one_window() -> None:
    text = """id: 6f1c1f4e-3c39-4f4e-9d7e-000000000001
title: zones
window:
  start: 2024-01-01T02:00:00+02:00
  stop: 2024-01-02T00:00:00
steps:
  - get: procs
    entity: process
    from: file://x.json
    where: "[process:name = 'cmd.exe']"
"""
    book = parse_book(text, "z.yaml")
    assert book.window.resolve(JAN_1) == Window(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    )
    assert book.window.model_copy(update={"start": None, "stop": None, "last": "1h"}).resolve(
        JAN_1
    ) == Window(JAN_1 - timedelta(hours=1), JAN_1)

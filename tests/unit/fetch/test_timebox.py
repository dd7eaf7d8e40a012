"""The window filter on stix-shifter pages (huntline.fetch.sources.timebox), with stix2-matcher
as the oracle for STIX's START/STOP rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from stix2matcher.matcher import match

from huntline.fetch.base import Window
from huntline.fetch.sources.timebox import asked_window, in_window, within

WINDOW = Window(datetime(2021, 3, 1, tzinfo=UTC), datetime(2021, 3, 2, tzinfo=UTC))
QUALIFIER = "START t'2021-03-01T00:00:00.000Z' STOP t'2021-03-02T00:00:00.000Z'"
CREATED = "2026-12-07T16:00:00.000Z"


def observed(first: str, last: str) -> dict[str, object]:
    return {
        "type": "observed-data",
        "id": "observed-data--6a2b3c4d-0000-4000-8000-000000000001",
        "created": CREATED,
        "modified": CREATED,
        "first_observed": first,
        "last_observed": last,
        "number_observed": 1,
        "objects": {"0": {"type": "process", "pid": 4}},
    }


SPANS = [
    ("2021-03-01T12:00:00Z", "2021-03-01T12:00:00Z"),  # inside
    ("2021-03-01T00:00:00Z", "2021-03-01T00:00:00Z"),  # at the start: in (START inclusive)
    ("2021-03-02T00:00:00Z", "2021-03-02T00:00:00Z"),  # at the stop: out (STOP exclusive)
    ("2021-02-28T00:00:00Z", "2021-02-28T23:59:59.999Z"),  # before
    ("2021-03-02T00:00:00.001Z", "2021-03-03T00:00:00Z"),  # after
    ("2021-02-28T00:00:00Z", "2021-03-01T00:00:00Z"),  # ends at the start: in
    ("2021-02-28T00:00:00Z", "2021-03-05T00:00:00Z"),  # spans the window: in
    ("2021-03-01T23:00:00Z", "2021-03-02T00:00:00Z"),  # ends at the stop: in
]


@pytest.mark.parametrize(("first", "last"), SPANS)
def test_within_agrees_with_stix2_matcher(first: str, last: str) -> None:
    obs = observed(first, last)
    sco = {"type": "process", "id": "process--6a2b3c4d-0000-4000-8000-000000000002", "pid": 4}
    stix21 = {key: value for key, value in obs.items() if key != "objects"}
    bundle = {"type": "bundle", "objects": [{**stix21, "object_refs": [sco["id"]]}, sco]}
    oracle = bool(match(f"[process:pid = 4] {QUALIFIER}", [bundle], stix_version="2.1"))
    assert within(obs, WINDOW) is oracle


def test_a_time_stix_shifter_filled_in_or_cannot_read_is_not_held_against_it() -> None:
    # stix-shifter stamps the translation time (also 'created') when a connector maps no time
    assert within(observed(CREATED, CREATED), WINDOW)
    assert within(observed("yesterday", "2021-03-01T01:00:00Z"), WINDOW)
    assert within({"type": "observed-data", "objects": {}}, WINDOW)
    assert within(observed("2021-02-27T00:00:00Z", CREATED), WINDOW)  # last unknown


def test_in_window_keeps_order_and_counts_the_dropped() -> None:
    page = [observed(*span) for span in SPANS]
    kept, dropped = in_window(page, WINDOW)
    assert kept == [page[i] for i in (0, 1, 5, 6, 7)]
    assert dropped == 3


def test_asked_window_is_the_qualifier_with_window_writes() -> None:
    window = Window(
        datetime(2021, 3, 1, 0, 0, 0, 1500, tzinfo=UTC),
        datetime(2021, 3, 2, 0, 0, 0, 1500, tzinfo=UTC),
    )
    assert asked_window("[process:name = 'a' OR process:name = 'b']", window) == Window(
        datetime(2021, 3, 1, 0, 0, 0, 1000, tzinfo=UTC),
        datetime(2021, 3, 2, 0, 0, 0, 2000, tzinfo=UTC),
    )
    assert asked_window(f"[process:pid = 4] OR [process:pid = 5] {QUALIFIER}", window) is None

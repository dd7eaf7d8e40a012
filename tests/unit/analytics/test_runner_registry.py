"""apply: references name their runner by scheme; a scheme without a runner is a book error."""

from __future__ import annotations

import pytest

from huntline.analytics.runners import RUNNERS, runner_for, scheme_of
from huntline.errors import AnalyticsError, BookError
from huntline.steps.book_checks import parse_hunt

BOOK = """id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e11
title: t
steps:
  - get: procs
    entity: process
    from: edr
  - apply: {reference}
    on: procs
"""


@pytest.mark.parametrize(
    ("reference", "scheme"),
    [
        ("susp_scoring", "docker"),
        ("docker://susp_scoring", "docker"),
        ("ghcr.io/acme/scoring:1.0", "docker"),
        ("localhost:5000/scoring", "docker"),
        ("python://plot", "python"),
        ("PYTHON://plot", "python"),
        ("r://model", "r"),
    ],
)
def test_scheme_of_a_reference(reference: str, scheme: str) -> None:
    assert scheme_of(reference) == scheme


def test_registered_runners() -> None:
    assert list(RUNNERS) == ["docker", "python"]
    assert runner_for("susp_scoring").explain("susp_scoring") == (
        "image kestrel-analytics-susp_scoring"
    )


def test_a_scheme_without_runner_is_a_located_book_error() -> None:
    with pytest.raises(BookError) as caught:
        parse_hunt(BOOK.format(reference="pyhton://plot"), "r.yaml")
    assert caught.value.problems == [
        "r.yaml:7 steps[1].apply: unknown analytics runner 'pyhton://' (did you mean "
        "'python://'?); known: docker://, python://"
    ]
    with pytest.raises(AnalyticsError, match=r"^unknown analytics runner 'r://'; known: "):
        runner_for("r://model")


def test_known_schemes_load() -> None:
    for reference in ("susp_scoring", "docker://x", "python://plot", "ghcr.io/a/b:1"):
        parse_hunt(BOOK.format(reference=reference), "ok.yaml")

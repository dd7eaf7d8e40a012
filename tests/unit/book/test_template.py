"""Alert title templates (issue 22, items 3 and 9): only column names and a small bounded set
of format specs pass ``validate``, each refusal at its file:line; rendering is bounded too.

Before: ``title: "{name:>999999999}"`` validated and one alert grew the run to 12 GB, and
``{name:{command_line}}`` let telemetry choose the spec.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huntline.alert.templates import MAX_TEXT, MAX_VALUE, render_title
from huntline.book import parse_book
from huntline.book.template import TemplateError, template_fields
from huntline.errors import BookError

BOOK = """id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71
title: templates
steps:
  - get: procs
    entity: process
    from: file://hunts/data/sample_endpoint_bundle.json
alert:
  on: procs
  when: name == 'x'
  title: {title}
"""
SPEC_RULE = (
    "a spec is [align][width][,][.precision][type] with align <, > or ^, width up to 99, "
    "precision up to 9 and type s, d, f or %"
)
COLUMN_RULE = "(letters, digits, _ . - and ', not starting with a digit or __)"


def problems(title: str) -> list[str]:
    with pytest.raises(BookError) as caught:
        parse_book(BOOK.format(title=f"'{title}'"), "book.yaml")
    return caught.value.problems


@pytest.mark.parametrize(
    ("title", "spec"),
    [
        ("{name:>999999999}", ">999999999"),
        ("{name:{command_line}}", "{command_line}"),
        ("{name:.10f}", ".10f"),
        ("{name:x<5}", "x<5"),
    ],
)
def test_unbounded_or_data_chosen_specs_are_refused(title: str, spec: str) -> None:
    assert problems(title) == [
        f"book.yaml:10 alert.title: {title}: format spec {spec!r} is not allowed; {SPEC_RULE}"
    ]


@pytest.mark.parametrize(
    ("title", "problem"),
    [
        (
            "{",
            "not a valid template: Single '{' encountered in format string; "
            "write {{ or }} for a literal brace",
        ),
        (
            "ends with }",
            "not a valid template: Single '}' encountered in format string; "
            "write {{ or }} for a literal brace",
        ),
        ("{0}", "{0}: a positional field is not allowed; name a column"),
        ("{}", "{}: a placeholder names a column, e.g. {name}"),
        (
            "{name!z}",
            "{name!z}: a conversion (!z) is not allowed; a placeholder is {column} or "
            "{column:spec}",
        ),
        ("{__class__}", f"{{__class__}}: '__class__' is not a column name {COLUMN_RULE}"),
        ("{a.__class__}", f"{{a.__class__}}: 'a.__class__' is not a column name {COLUMN_RULE}"),
        ("{name[0]}", f"{{name[0]}}: 'name[0]' is not a column name {COLUMN_RULE}"),
    ],
)
def test_templates_that_are_not_column_placeholders_are_refused(title: str, problem: str) -> None:
    assert problems(title) == [f"book.yaml:10 alert.title: {problem}"]


def test_summary_follows_the_same_rules() -> None:
    text = BOOK.format(title="'{name}'") + "  summary: '{name:>1000}'\n"
    with pytest.raises(BookError) as caught:
        parse_book(text, "book.yaml")
    assert caught.value.problems == [
        f"book.yaml:11 alert.summary: {{name:>1000}}: format spec '>1000' is not allowed; "
        f"{SPEC_RULE}"
    ]


def test_the_bounded_specs_and_column_names_pass() -> None:
    title = "{name:<20} {x_score:.2f} {count:,d} {x_pct:.1%} {binary_ref.hashes.'SHA-256'} {{x}}"
    book = parse_book(BOOK.format(title=f'"{title}"'), "book.yaml")
    assert book.alert is not None and book.alert.title == title
    row = {"name": "cmd.exe", "x_score": 2.5, "count": 12345, "x_pct": 0.25}
    row["binary_ref.hashes.'SHA-256'"] = "ab12"
    assert render_title(title, row) == f"{'cmd.exe':<20} 2.50 12,345 25.0% ab12 {{x}}"


def test_rendering_is_bounded_and_never_fails_on_a_value() -> None:
    huge = "A" * 10_000_000
    started = time.monotonic()
    title = render_title("{a}{a}{a}{a}{a}{a}", {"a": huge})
    assert len(title) == MAX_TEXT and title.endswith("…")
    assert time.monotonic() - started < 1
    assert len(render_title("{a:>99}", {"a": huge})) == MAX_VALUE
    # a spec that does not fit the value renders it as text, a missing value as -
    assert render_title("{a:.2f}|{b:d}|{c:.1f}", {"a": "text", "b": None, "c": 1}) == "text|-|1.0"


@settings(max_examples=400, deadline=None)
@given(
    template=st.text(alphabet="{}:!<>^,.%sdfx019_ab", max_size=30),
    value=st.one_of(st.text(max_size=50), st.integers(), st.floats(), st.none()),
)
def test_any_template_is_refused_or_renders_bounded(template: str, value: object) -> None:
    """No template text makes validate crash or rendering run away, whatever the value."""
    try:
        fields = template_fields(template)
    except TemplateError:
        return
    row = dict.fromkeys(fields, value)
    assert len(render_title(template, row)) <= MAX_TEXT

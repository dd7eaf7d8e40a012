"""Checks of a book's alert section that need more than its schema: destinations.

Run when a book is validated (``huntline validate``, and before ``huntline run`` starts a flow):
every ``notify:`` entry must be a URL a destination can use, or a name that
``destinations.yaml`` defines. The columns the rules read are only known after the analytics,
so those are checked at run time (:func:`huntline.alert.rules.check_columns`).
"""

from __future__ import annotations

from huntline.alert.destinations import destinations_file, load_destinations, spec_problem
from huntline.book.model import Alert
from huntline.errors import AlertError
from huntline.schemes import has_scheme


def notify_problems(alert: Alert) -> list[tuple[int | None, str]]:
    """``(index in notify, problem)`` for every unusable destination; index None: a problem of
    the destinations file, which names that file and its line (not the book's)."""
    if not alert.notify:
        return []
    path = destinations_file()
    try:
        named = load_destinations(path) if not all(map(has_scheme, alert.notify)) else {}
    except AlertError as error:
        return [(None, problem) for problem in error.context.get("problems") or [error.message]]
    problems: list[tuple[int | None, str]] = []
    for index, spec in enumerate(alert.notify):
        problem = spec_problem(spec, named, path)
        if problem:
            problems.append((index, problem))
    return problems

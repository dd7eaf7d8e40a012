"""What ``huntline deploy`` can tell before the first scheduled run fails: the data sources a
deployed book reads that this environment cannot open.

A deployment registers even so (the worker may run elsewhere, with its own profiles), but the
person deploying sees at once that, here, its runs would fail, and why; otherwise the first
sign is a failed run an hour later. Only the names are resolved (profiles and their
environment variables, bundle paths' form): nothing is contacted, so it costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from huntline.book.loader import load_book
from huntline.book.steps import kind_of
from huntline.errors import DataSourceError
from huntline.fetch.sources.resolve import resolve_source
from huntline.schedule.specs import DeploymentSpec
from huntline.steps.book_checks import sigma_book


def source_warnings(specs: list[DeploymentSpec], root: Path) -> list[str]:
    """One line per data source that cannot be opened here: the deployments that read it, and
    why (the same message and hint a run would fail with). The books were checked, with the
    stages' checks, when their specs were made: read here without those (the STIX pattern
    validation was most of a second redeploy's CPU for 500 books)."""
    readers: dict[str, list[str]] = {}
    for spec in specs:
        book = spec.parameters.get("book")
        if book is None:  # the intel watcher reads feeds, not data sources
            continue
        for step in load_book(root / book, (), sigma_book).steps:
            for source in kind_of(step).sources(step):
                readers.setdefault(source, []).append(spec.name)
    warnings = []
    for source, names in sorted(readers.items()):
        try:
            resolve_source(source)
        except DataSourceError as error:
            hint = f"\n  hint: {error.hint}" if error.hint else ""
            warnings.append(
                f"the runs of {', '.join(sorted(set(names)))} will fail until {source!r} is "
                f"configured where the worker runs: {error.message}{hint}"
            )
    return warnings

"""When a stored fetch covers a ``get`` step of an edited book: decided conservatively.

A stored run's ``get`` output covers the edited book's ``get`` step writing the same variable
when all of these hold; otherwise the run's window is not replayable, and the reason says
which failed:

- the run completed (a failed run's tables may be partial);
- the step has the same entity type and the same sources (``from:``, in order);
- the step's window in the replay equals the window that stored fetch searched;
- the step has no ``limit:`` (a cut fetch is not a subset one can filter);
- the stored pattern is *at least as wide*, in one of two provable ways:

  1. it is the edited pattern itself (compared as queried, with the window's START/STOP):
     the stored table is used as it is;
  2. it is the "every entity" pattern of the type (a ``get`` without ``where:``), and the
     edited pattern compares only properties of that type: the stored table's rows are
     selected with the edited pattern by :mod:`huntline.patterns` (stix2-matcher's semantics,
     each row one SCO).

Anything else (a narrower or merely different stored pattern, an ``AND`` that only looks
wider) is refused rather than guessed: a replay must not claim what a fetch would have found.
"""

from __future__ import annotations

from dataclasses import dataclass

from huntline.book.observables import every_entity_pattern
from huntline.book.steps import GetStep
from huntline.errors import PatternError
from huntline.fetch.sources.pattern import with_window
from huntline.manifest import RunManifest
from huntline.patterns import compile_pattern
from huntline.steps.context import StepOutput
from huntline.storage import TableRef
from huntline.window import Window

__all__ = ["Coverage", "coverage"]


@dataclass(frozen=True)
class Coverage:
    """How a stored fetch stands in for a ``get`` step: its table, whether the edited pattern
    must select rows of it (``select``), or why it cannot (``reason``)."""

    table: TableRef | None = None
    select: str | None = None
    reason: str | None = None


def coverage(step: GetStep, window: Window, manifest: RunManifest) -> Coverage:
    """Whether the run of ``manifest`` stored a fetch that covers ``step`` over ``window``."""
    if manifest.status != "completed":
        return Coverage(reason=f"the run {manifest.status}: its tables may be partial")
    stored = _stored_fetch(manifest, step.get)
    if stored is None:
        return Coverage(reason=f"the run stored no fetch of variable {step.get!r}")
    output, entity, sources, query = stored
    if entity != step.entity:
        return Coverage(
            reason=f"{step.get}: the run fetched {entity}, the book fetches {step.entity}"
        )
    if sources != ", ".join(step.sources):
        return Coverage(
            reason=f"{step.get}: the run read {sources}, the book reads {', '.join(step.sources)}"
        )
    searched = manifest.windows.get(output.step_id)
    if searched is None or (searched.start, searched.stop) != (window.start, window.stop):
        return Coverage(reason=f"{step.get}: the book's window differs from the stored fetch's")
    if step.limit is not None:
        return Coverage(reason=f"{step.get}: limit: {step.limit} may cut the fetch")
    table = output.tables[step.get]
    if query == with_window(step.where, window):
        return Coverage(table=table)
    if query == with_window(every_entity_pattern(step.entity), window):
        try:
            pattern = compile_pattern(step.where)
        except PatternError as error:
            return Coverage(reason=f"{step.get}: {error.message}")
        if pattern.types != {step.entity}:
            return Coverage(
                reason=f"{step.get}: the pattern compares {', '.join(sorted(pattern.types))} "
                f"properties, which a stored {step.entity} table cannot tell"
            )
        return Coverage(table=table, select=step.where)
    return Coverage(
        reason=f"{step.get}: the stored pattern is not provably as wide as the book's "
        "(neither the same pattern nor every entity of the type)"
    )


def _stored_fetch(manifest: RunManifest, variable: str) -> tuple[StepOutput, str, str, str] | None:
    """The run's ``get`` output for ``variable``: (output, entity, sources, queried pattern),
    read from the query line a ``get`` records (``ENTITY FROM SOURCES WHERE PATTERN (N pages)``)."""
    for output in manifest.steps:
        if variable not in output.tables or output.query is None or output.source is None:
            continue
        entity, _, rest = output.query.partition(" FROM ")
        prefix = f"{output.source} WHERE "
        if not rest.startswith(prefix):
            continue
        pattern = rest[len(prefix) :].rsplit(" (", 1)[0]
        return output, entity, output.source, pattern
    return None

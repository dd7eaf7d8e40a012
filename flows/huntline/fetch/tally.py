"""What a fetch kept but had to change or could not use, counted, so no row is lost silently.

A source can hand over values that do not fit their STIX type (a ``pid`` of ``"abc"``, a hex
``"0x1410"``), observations without a ``type``, or junk in a bundle's or an observation's
``objects`` (a number, a dict without ``type``). huntline keeps what it can (:mod:`.stix.coerce`)
and counts the rest here; the ``get`` step reports the counts in its output and the run's
manifest (``StepOutput.coerced``) and as a warning. What needs naming one by one (a key repeated
in a bundle, :mod:`.sources.json_keys`) is also noted as a line of its own (:func:`note`).

The counter travels in a context variable, not through every signature: the bundle parser runs
in a worker thread and the C collector calls back into Python, and both see the counter that
:func:`tallied` opened (``asyncio`` copies the context into tasks and ``to_thread``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = [
    "OUTSIDE_WINDOW",
    "Tally",
    "add",
    "count",
    "describe",
    "first_time",
    "note",
    "tallied",
]

#: Prefix of the count of observations a source returned outside the window, by source name
#: (``window.<source>``; :mod:`.sources.timebox`).
OUTSIDE_WINDOW = "window."


class Tally(Counter[str]):
    """Counts by what was coerced or skipped, and the lines that name cases one by one."""

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []
        self.seen: set[str] = set()


_TALLY: ContextVar[Tally | None] = ContextVar("huntline_fetch_tally", default=None)


@contextmanager
def tallied() -> Iterator[Tally]:
    """Count what the fetch inside the block coerced or skipped, by what it was."""
    counter = Tally()
    token = _TALLY.set(counter)
    try:
        yield counter
    finally:
        _TALLY.reset(token)


def count(what: str, n: int = 1) -> None:
    """Add ``n`` to ``what`` in the open tally (nothing when none is open)."""
    counter = _TALLY.get()
    if counter is not None:
        counter[what] += n


def note(line: str) -> None:
    """Add a line naming one case to the open tally (nothing when none is open)."""
    counter = _TALLY.get()
    if counter is not None:
        counter.notes.append(line)


def first_time(key: str) -> bool:
    """Whether ``key`` is new to the open tally (and now seen); True when none is open. What is
    read again for every page (a bundle over HTTP) is counted once."""
    counter = _TALLY.get()
    if counter is None:
        return True
    if key in counter.seen:
        return False
    counter.seen.add(key)
    return True


def add(counts: Tally) -> None:
    """Add ``counts`` (a nested :func:`tallied`'s) to the open tally."""
    for what, n in counts.items():
        count(what, n)
    for line in counts.notes:
        note(line)
    for key in counts.seen:
        first_time(key)


#: What each kind of entry means, for the warning.
_MEANINGS = {
    "bundle.objects": "bundle objects that are not STIX objects (no 'type') were skipped",
    "bundle.observed-data without type": (
        "observations without 'type' were read as observed-data (they have 'objects')"
    ),
    "process.same process": (
        "process records of one process creation (Sysmon 1 and Security 4688) were merged into "
        "one row (x_merged_ids)"
    ),
    "bundle.duplicate keys": (
        "keys were repeated within one JSON object of a bundle: as every JSON reader does, the "
        "last value was read and the earlier ones dropped (each is named in a warning)"
    ),
    "observed-data.objects": (
        "items of an observation's 'objects' are not SCOs (no 'type') and were skipped"
    ),
}


def describe(counts: dict[str, int]) -> str:
    """One warning line for a step's counts, e.g. ``process.pid: 32 values ...``."""
    parts = []
    for what, n in sorted(counts.items()):
        meaning = _MEANINGS.get(what)
        if what.startswith(OUTSIDE_WINDOW):
            meaning = (
                f"observations from source {what.removeprefix(OUTSIDE_WINDOW)!r} lay outside the "
                "window (the connector did not apply it to every part of the query) and were "
                "dropped"
            )
        elif meaning is None:  # "<type>.<property>": coerced values
            sco_type, _, name = what.partition(".")
            meaning = (
                f"values of {sco_type}:{name} were not integers: whole-number text became the "
                f"number, anything else null with the raw value in x_{name}_raw"
            )
        parts.append(f"{what}: {n} {meaning}")
    return "; ".join(parts)

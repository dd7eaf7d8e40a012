"""What a fetch kept but had to change or could not use, counted, so no row is lost silently.

A source can hand over values that do not fit their STIX type (a ``pid`` of ``"abc"``, a hex
``"0x1410"``), observations without a ``type``, or junk in a bundle's or an observation's
``objects`` (a number, a dict without ``type``). huntline keeps what it can (:mod:`.stix.coerce`)
and counts the rest here; the ``get`` step reports the counts in its output and the run's
manifest (``StepOutput.coerced``) and as a warning.

The counter travels in a context variable, not through every signature: the bundle parser runs
in a worker thread and the C collector calls back into Python, and both see the counter that
:func:`tallied` opened (``asyncio`` copies the context into tasks and ``to_thread``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["add", "count", "describe", "tallied"]

_TALLY: ContextVar[Counter[str] | None] = ContextVar("huntline_fetch_tally", default=None)


@contextmanager
def tallied() -> Iterator[Counter[str]]:
    """Count what the fetch inside the block coerced or skipped, by what it was."""
    counter: Counter[str] = Counter()
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


def add(counts: Counter[str]) -> None:
    """Add ``counts`` (a nested :func:`tallied`'s) to the open tally."""
    for what, n in counts.items():
        count(what, n)


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
    "observed-data.objects": (
        "items of an observation's 'objects' are not SCOs (no 'type') and were skipped"
    ),
}


def describe(counts: dict[str, int]) -> str:
    """One warning line for a step's counts, e.g. ``process.pid: 32 values ...``."""
    parts = []
    for what, n in sorted(counts.items()):
        meaning = _MEANINGS.get(what)
        if meaning is None:  # "<type>.<property>": coerced values
            sco_type, _, name = what.partition(".")
            meaning = (
                f"values of {sco_type}:{name} were not integers: whole-number text became the "
                f"number, anything else null with the raw value in x_{name}_raw"
            )
        parts.append(f"{what}: {n} {meaning}")
    return "; ".join(parts)

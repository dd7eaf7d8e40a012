"""Keep only the observations a connector returned inside the window the query asked for.

Why: a connector may bind the window to part of the query only. stix-shifter 8.1.3's ``mysql``
translates ``[a OR b] START t'..' STOP t'..'`` into ``... WHERE a OR b AND (entry_time ...)``,
so rows matching ``a`` come back from any time; a pack's covering fetch is always such an OR.
Any connector could get this wrong, so every page of a stix-shifter fetch whose every
observation expression carries the run's window is checked here, as it arrives (no second pass).

The rule is STIX's, as stix2-matcher applies it for ``START s STOP e``: an observation is in the
window when its ``[first_observed, last_observed]`` overlaps ``[s, e)``, i.e.
``last_observed >= s`` and ``first_observed < e``. A bound that is missing or unreadable is not
held against the observation, nor one equal to its ``created``: stix-shifter stamps the
translation time as ``first_observed``/``last_observed`` when the connector maps no time
(and as ``created``), which says nothing of when the event happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from huntline.fetch.base import ObservedData, Window
from huntline.fetch.sources.pattern import observation_spans, own_start, stix_timestamp

__all__ = ["asked_window", "in_window", "within"]


def asked_window(pattern: str, window: Window) -> Window | None:
    """The window :func:`.pattern.with_window` puts on ``pattern`` (to the millisecond, as its
    qualifier says it), or None when an observation expression carries a START of its own
    (the author asked for that range on purpose, so no single window applies)."""
    if any(own_start(pattern, end) for _, end in observation_spans(pattern)):
        return None
    start = datetime.fromisoformat(stix_timestamp(window.start))
    return Window(start, datetime.fromisoformat(stix_timestamp(window.stop, round_up=True)))


def within(observed: ObservedData, window: Window) -> bool:
    """Whether ``observed`` overlaps ``window`` as STIX's START/STOP defines it (see module)."""
    created = observed.get("created")
    last = _moment(observed.get("last_observed"), created)
    if last is not None and last < window.start:
        return False
    first = _moment(observed.get("first_observed"), created)
    return first is None or first < window.stop


def in_window(page: list[ObservedData], window: Window) -> tuple[list[ObservedData], int]:
    """The observations of ``page`` inside ``window``, and how many were dropped."""
    kept = [observed for observed in page if within(observed, window)]
    return kept, len(page) - len(kept)


def _moment(value: Any, created: Any) -> datetime | None:
    """``value`` as an aware datetime; None when absent, unreadable, naive or the ``created``
    stamp (the translation time, not the event's)."""
    if not isinstance(value, str) or value == created:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None

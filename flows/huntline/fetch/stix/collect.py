"""One page of observed-data -> occurrence tables: by the C collector, or by the reference rules.

:func:`page_occurrences` is what the fetch path calls. It hands the page to the C collector
(``_occurrences.c``, loaded by :mod:`.native`) and turns the columns it returns into Arrow
tables (:func:`_native_table`), typed as :mod:`.rules` types them. When the collector is not
built, or hands a page back (a page holding something its C code does not handle), the page
goes to the reference rules, :func:`.rules.occurrence_tables`. Either way the tables are the
same (columns, order, types, values and ids): ``tests/unit/fetch/test_native_vs_reference.py``
compares the two on every input it has, ``test_native_vs_reference_fuzz.py`` on random awkward
pages.

There is no second Python collector: a micro-optimised one ran at 1.1-1.6x the reference where
C runs at 3.5-4x (``bench/README.md``), which did not pay for a third copy of the rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from huntline.fetch import tally
from huntline.fetch.base import ObservedData
from huntline.fetch.stix.identity import IdCache
from huntline.fetch.stix.native import NativeColumns, collector
from huntline.fetch.stix.plans import OBSERVATION_COLUMNS
from huntline.fetch.stix.rules import _array, occurrence_tables  # the typing rule is the rules'

__all__ = ["page_occurrences"]

#: The C collector (:mod:`.native`), or None: every page goes to the reference rules.
native = collector()


def page_occurrences(observed: list[ObservedData], ids: IdCache) -> dict[str, pa.Table]:
    """The occurrences in ``observed``, one table per SCO type, in observation order: the
    tables of :func:`.rules.occurrence_tables`, by the C collector when it takes the page.

    (No garbage-collector pause here, unlike the reference: the C collector builds few Python
    containers, and pausing measured no faster, see ``bench/README.md``.)

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    if native is not None:
        with tally.tallied() as counted:  # kept only when C takes the page
            parts = native.collect(observed, ids)
        if parts is not None:
            tally.add(counted)
            moments = Moments(observed)
            return {name: _native_table(part, moments) for name, part in parts.items()}
    return occurrence_tables(observed, ids)


class Moments:
    """The first/last_observed of a page's observations, picked per occurrence.

    A page's timestamps are text: their column is then one ``take`` of the page's values by
    observation, typed as ``_array`` types the picked values (all null: the null type).
    Anything else is picked value by value and typed by ``_array``.
    """

    def __init__(self, observed: list[ObservedData]) -> None:
        self.values = {name: [o.get(name) for o in observed] for name in OBSERVATION_COLUMNS[:2]}
        self.arrays = {name: _array(values) for name, values in self.values.items()}

    def column(self, name: str, observations: pa.Array) -> pa.Array:
        array = self.arrays[name]
        if array.type == pa.string():
            picked = array.take(observations)
            return picked if picked.null_count < len(picked) else pa.nulls(len(picked))
        values = self.values[name]
        return _array([values[i] for i in observations.to_pylist()])


def _native_table(parts: NativeColumns, moments: Moments) -> pa.Table:
    """One type's table from the C collector's columns, each typed on its own (:func:`_column`):
    the SCO columns, then each occurrence's id and its observation's columns."""
    names, columns, ids, observations, counts = parts
    arrays = [_column(*columns[name], len(ids)) for name in names]
    indices = pa.array(np.frombuffer(observations, np.int32))
    moment_arrays = [moments.column(name, indices) for name in OBSERVATION_COLUMNS[:2]]
    return pa.table(
        [*arrays, _column(ids), *moment_arrays, _column(counts)],
        names=[*names, "id", *OBSERVATION_COLUMNS],
    )


#: The Arrow types of the C module's column kinds.
_KINDS = {"s": pa.string(), "i": pa.int64(), "f": pa.float64(), "b": pa.bool_()}


def _column(values: list[Any], rows: bytearray | None = None, count: int | None = None) -> pa.Array:
    """``values`` typed as :func:`_array` types them, at ``rows`` (native int32s) of a column
    of ``count`` rows with nulls elsewhere; without ``rows``, the values are the column.

    The C module builds a column of one plain type (text, int64, float or bool, with nulls)
    straight into Arrow buffers, as ``pa.array`` would type it; it hands any other column
    (mixed types, lists, a lone surrogate, an int beyond int64) back to ``_array``. Building
    the buffers takes about a third of the time of ``pa.array`` over the Python values and
    the ``take`` that spreads them.
    """
    size = len(values) if count is None else count
    built = None if native is None else native.column(values, rows, size)
    if built is None:
        array = _array(values)
        return array if rows is None else _spread(array, rows, size)
    kind, nulls, *buffers = built
    return pa.Array.from_buffers(
        _KINDS[kind], size, [b if b is None else pa.py_buffer(b) for b in buffers], nulls
    )


def _spread(array: pa.Array, rows: bytearray, count: int) -> pa.Array:
    """A sparse column (``array``, the values at ``rows``) as a column of ``count`` rows, nulls
    elsewhere."""
    if len(array) == count:  # every occurrence has it: rows are 0..count-1
        return array
    picks = np.full(count, -1, np.int32)
    picks[np.frombuffer(rows, np.int32)] = np.arange(len(array), dtype=np.int32)
    return array.take(pa.array(picks, mask=picks < 0))

"""One page of observed-data -> occurrence tables, as :mod:`.rules` builds them, faster.

:func:`page_occurrences` returns exactly what :func:`.rules.occurrence_tables` returns
(same tables, columns, order, types, values and ids; ``tests/unit/fetch/test_fastocc.py``
compares the two on every input it has, ``test_fastocc_fuzz.py`` on random awkward pages).

A page is collected by the C collector (``_occurrences.c``, see :mod:`.native`) when it is
built, and its sparse columns become Arrow arrays here (:func:`_native_table`), typed as the
Python collector types them. Without it, or for a page it hands back, the page is collected in
Python. The rules are :mod:`.rules`', :mod:`.plans`' and :mod:`.identity`'s; the Python
collector, this module with :mod:`.shapes` and :mod:`.ids`, does the same work with less
Python per SCO than the reference:

- one loop over observations and SCOs (here), with no Plan and no per-occurrence dicts: an
  SCO's content (its orjson bytes) maps to a cached :class:`.shapes.Shape`, which holds the
  flattened row without references, the references as local keys, and the id when the content
  decides it (compiled and cached by :mod:`.shapes`);
- a shape remembers its per-page template index, so a recurring SCO costs a content lookup,
  one tuple appended and its references;
- ids that need the observation (hosted processes, anonymous SCOs, SCOs identified through
  references) are computed on demand per observation by :class:`.ids.ObsIds`, which follows
  ``occurrences._Ids`` to the letter.

The table of each type is then built as :mod:`.rules` builds it (distinct rows ``take``-n
per occurrence, references as sparse columns, types decided by the same helper), so the types
and column order cannot drift from it.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from huntline.errors import FetchError
from huntline.fetch.base import ObservedData
from huntline.fetch.heap import collector_paused
from huntline.fetch.stix.identity import IdCache, compact
from huntline.fetch.stix.ids import ObsIds
from huntline.fetch.stix.native import NativeColumns, collector
from huntline.fetch.stix.plans import FIXED, OBSERVATION_COLUMNS, json_text, nested_row
from huntline.fetch.stix.rules import (  # the table rules, shared so they cannot drift
    _array,
    rows_to_table,
)
from huntline.fetch.stix.shapes import OBS_NAMES, Shape, compile_shape, shape_store

__all__ = ["page_occurrences"]

#: The C collector (:mod:`.native`), or None: every page is flattened in Python.
native = collector()

_REF_SUFFIXES = ("_ref", "_refs")


class Columns:
    """One type's occurrences in one page, column-wise (see ``occurrences._TypeRows``)."""

    __slots__ = ("entries", "orders", "refs", "templates")

    def __init__(self) -> None:
        self.templates: list[dict[str, Any]] = []
        #: per occurrence: (id, observation index, number_observed, template index)
        self.entries: list[tuple[str, int, Any, int]] = []
        self.refs: dict[str, tuple[list[int], list[str]]] = {}
        self.orders: dict[Any, tuple[str, ...]] = {}

    def table(self, moments: Moments) -> pa.Table:
        """The table; ``moments`` holds the page's first/last_observed by observation."""
        count = len(self.entries)
        ids, obs, counts, template_of = (list(c) for c in zip(*self.entries, strict=True))
        columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        if any(self.templates):
            base = rows_to_table(self.templates)
            if template_of != list(range(len(self.templates))):
                base = base.take(pa.array(template_of, pa.int32()))
            columns.update(zip(base.column_names, base.columns, strict=True))
        for name, (positions, values) in self.refs.items():
            if len(positions) < count:
                full: list[Any] = [None] * count
                for position, value in zip(positions, values, strict=True):
                    full[position] = value
                values = full
            columns[name] = _array(values)
        names = list(dict.fromkeys(chain.from_iterable(self.orders.values())))
        indices = pa.array(obs, pa.int32())
        return _occurrence_table(names, [columns[n] for n in names], ids, indices, counts, moments)


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


def _occurrence_table(
    names: list[str],
    arrays: list[pa.Array | pa.ChunkedArray],
    ids: list[str],
    observations: pa.Array,
    counts: list[Any],
    moments: Moments,
) -> pa.Table:
    """The SCO columns, then each occurrence's id and its observation's columns."""
    moment_arrays = [moments.column(name, observations) for name in OBSERVATION_COLUMNS[:2]]
    columns = [*arrays, _column(ids), *moment_arrays, _column(counts)]
    return pa.table(columns, names=[*names, "id", *OBSERVATION_COLUMNS])


def _native_table(parts: NativeColumns, moments: Moments) -> pa.Table:
    """One type's table from the C collector's columns, each typed on its own (:func:`_column`)."""
    names, columns, ids, observations, counts = parts
    arrays = [_column(*columns[name], len(ids)) for name in names]
    indices = pa.array(np.frombuffer(observations, np.int32))
    return _occurrence_table(names, arrays, ids, indices, counts, moments)


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


def page_occurrences(observed: list[ObservedData], ids: IdCache) -> dict[str, pa.Table]:
    """The occurrences in ``observed``, one table per SCO type, in observation order: the same
    tables as :func:`.rules.occurrence_tables`.

    Raises:
        FetchError: An observed-data is not STIX 2.0 with embedded objects.
    """
    with collector_paused():
        moments = Moments(observed)
        if native is not None:
            parts = native.collect(observed, ids)
            if parts is not None:
                return {name: _native_table(part, moments) for name, part in parts.items()}
        types = _collect(observed, ids)
        return {name: rows.table(moments) for name, rows in types.items()}


def _collect(observed: list[ObservedData], cache: IdCache) -> dict[str, Columns]:
    store = shape_store(cache)
    shapes = store.shapes
    volatile = store.volatile
    learn = store.learn
    limit = store.size
    dumps = orjson.dumps
    page = object()  # marks the shapes met in this page
    met: list[Shape] = []  # to drop their hold on this page's columns at the end
    types: dict[str, Columns] = {}
    for index, obs in enumerate(observed):
        objects = obs.get("objects")
        if not isinstance(objects, dict) or not isinstance(obs.get("id"), str):
            raise FetchError(
                f"observed-data {obs.get('id', '(no id)')} has no embedded 'objects' mapping",
                hint="only STIX 2.0 observed-data with embedded objects can be flattened",
            )
        local: dict[str, Shape] = {}
        known: dict[str, str] = {}
        for key, sco in objects.items():
            if not isinstance(sco, dict):
                continue
            sco_type = sco.get("type")
            if not isinstance(sco_type, str):
                continue
            try:
                content = dumps(sco)
            except TypeError:  # integers beyond 64 bits: not cached
                shape = compile_shape(sco, cache)
            else:
                found = shapes.get(content)
                if found is None:
                    shape = compile_shape(sco, cache)
                    learn(sco_type, False)
                    if sco_type not in volatile:
                        if len(shapes) >= limit:
                            shapes.clear()  # bounded memory; a miss costs one compile
                        shapes[compact(content)] = shape
                else:
                    shape = found
                    if found.page is not page:
                        learn(sco_type, True)
            local[key] = shape
            if shape.kind == FIXED:
                known[key] = shape.sid  # type: ignore[assignment]
        if not local:
            continue
        count = obs.get("number_observed")
        resolver: ObsIds | None = None
        seen: set[str] = set()
        for key, shape in local.items():
            sid = known.get(key)
            if sid is None:
                if resolver is None:
                    resolver = ObsIds(obs, objects, cache, local, known)
                sid = resolver.of(key)
            if shape.page is page:
                rows = shape.rows
                assert rows is not None
            else:
                rows = types.get(shape.sco_type)
                if rows is None:
                    rows = types[shape.sco_type] = Columns()
                shape.page = page
                shape.rows = rows
                met.append(shape)
                if shape.row is not None:
                    shape.template = len(rows.templates)
                    rows.templates.append(shape.row)
            entries = rows.entries
            position = len(entries)
            number = 0 if sid in seen else count
            seen.add(sid)
            if shape.row is None:
                entries.append((sid, index, number, len(rows.templates)))
                if resolver is None:
                    resolver = ObsIds(obs, objects, cache, local, known)
                _general(rows, position, objects[key], key, objects, resolver)
                continue
            entries.append((sid, index, number, shape.template))
            if not shape.refs and not shape.ref_lists:
                if shape.ordered is not page:
                    shape.ordered = page
                    rows.orders[shape] = shape.columns
                continue
            dropped: list[str] | None = None
            refs = rows.refs
            for name, target in shape.refs:
                if type(target) is str and target in local:
                    value = known.get(target)
                    if value is None:
                        if resolver is None:
                            resolver = ObsIds(obs, objects, cache, local, known)
                        value = resolver.of(target)
                    entry = refs.get(name)
                    if entry is None:
                        entry = refs[name] = ([], [])
                    entry[0].append(position)
                    entry[1].append(value)
                elif dropped is None:  # dangling: firepit drops it
                    dropped = [name]
                else:
                    dropped.append(name)
            for name, targets in shape.ref_lists:
                resolved = []
                for target in targets:
                    if target != key and type(target) is str and target in local:
                        value = known.get(target)
                        if value is None:
                            if resolver is None:
                                resolver = ObsIds(obs, objects, cache, local, known)
                            value = resolver.of(target)
                        resolved.append(value)
                if resolved:
                    entry = refs.get(name)
                    if entry is None:
                        entry = refs[name] = ([], [])
                    entry[0].append(position)
                    entry[1].append(json_text(resolved))
                elif dropped is None:
                    dropped = [name]
                else:
                    dropped.append(name)
            if dropped is None:
                if shape.ordered is not page:
                    shape.ordered = page
                    rows.orders[shape] = shape.columns
            else:
                order = tuple(c for c in shape.columns if c not in dropped)
                rows.orders.setdefault(order, order)
    for shape in met:
        shape.rows = None
    return types


def _general(
    rows: Columns,
    position: int,
    sco: dict[str, Any],
    key: str,
    objects: dict[str, Any],
    ids: ObsIds,
) -> None:
    """An SCO whose shape has no row: flattened from scratch, its own template."""
    row = nested_row(sco, key, objects, ids.of)
    template = {}
    refs = rows.refs
    for name, value in row.items():
        if name.endswith(_REF_SUFFIXES):
            entry = refs.get(name)
            if entry is None:
                entry = refs[name] = ([], [])
            entry[0].append(position)
            entry[1].append(value)
        elif name not in OBS_NAMES:
            template[name] = value
    rows.templates.append(template)  # its index is in the occurrence's entry
    order = tuple(n for n in row if n not in OBS_NAMES)
    rows.orders.setdefault(order, order)

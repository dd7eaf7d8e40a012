"""Merge SCO occurrences into one row per entity: firepit 2.3's upsert rules, in Arrow.

Occurrences (:mod:`.occurrences`) with the same ``id`` are one entity. Merging follows firepit
2.3, where each occurrence is an upsert ``ON CONFLICT (id)``:

- a property takes its **last non-null value** in stream order (pages in order, observations in
  page order, SCOs in ``objects`` order); that includes ``*_ref`` target ids;
- ``*_refs`` lists are **unioned**, first seen first;
- ``first_observed`` is the **minimum** and ``last_observed`` the **maximum** over the
  observations that contain the entity, compared as text as firepit's SQL ``MIN``/``MAX`` do;
  ``number_observed`` is the **sum** of those observations' ``number_observed`` (each observation
  once) -- the figures firepit's ``summary()`` gives for the entity;
- ``x_datasource`` (present only when the observed-data carry it, see :mod:`.occurrences`)
  becomes the **sorted distinct** source names of the entity's occurrences joined by ``,``
  (``"edr,siem"``), so an entity seen by several sources is still one row;
- when pages disagree on a property's type, ints and floats become floats, anything else text
  (:func:`unified_schema`, decided over *every* page of a type, so that a type merged in
  buckets (:mod:`.buckets`) gets the same columns and types in each bucket).

Entities come out in first-seen order (Arrow's single-threaded ``group_by`` keeps the order in
which ids first appear). Occurrences merged in id buckets carry their stream position in
:data:`ORDINAL`; each entity keeps the smallest, its first sighting, so that buckets can be
read back in first-seen order across the whole type.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from huntline.errors import FetchError
from huntline.fetch.stix.plans import OBSERVATION_COLUMNS, SOURCE_COLUMN, json_text
from huntline.tables import conform as conform
from huntline.tables import unified_schema as unified_schema

_LAST = pc.ScalarAggregateOptions(skip_nulls=True)
_VALID = pc.CountOptions(mode="only_valid")
#: An occurrence's position in its type's stream (bucketed merging only, never in outputs).
ORDINAL = "__ordinal"
#: Each occurrence's id rank (first-seen order) while singles and aggregates are put together.
_RANK = "__rank"
#: How the columns other than the properties merge (properties: last non-null, lists: union).
_AGGREGATION: dict[str, tuple[str]] = {
    "first_observed": ("min",),
    "last_observed": ("max",),
    "number_observed": ("sum",),
    SOURCE_COLUMN: ("distinct",),
    ORDINAL: ("min",),
    _RANK: ("min",),
}


def merge_occurrences(parts: Iterable[pa.Table]) -> pa.Table:
    """One row per ``id`` from occurrence tables of one type, given in stream order.

    Most occurrences of the volatile types (processes, connections, events) are the only one
    of their entity, and merging one occurrence changes nothing. So only the ids seen more
    than once go through Arrow's hash aggregation (its ``last`` of every text column is the
    expensive part); the others are taken as they are, and both are put back in first-seen
    order by each id's rank (its index in the ``dictionary_encode`` of the ids, which is
    first-seen order).
    """
    table = concat_unified(list(parts))
    if table.num_rows == 0:
        return table
    if "number_observed" in table.column_names:
        where = table.schema.get_field_index("number_observed")
        table = table.set_column(where, "number_observed", _counts(table.column(where)))
    encoded = pc.dictionary_encode(table.column("id")).combine_chunks()
    ranks = encoded.indices
    if len(encoded.dictionary) == table.num_rows:  # every id once: nothing to merge
        return _merged_columns(table, table).combine_chunks()
    rank_of = ranks.to_numpy()
    counts = np.bincount(rank_of, minlength=len(encoded.dictionary))
    if counts.min() > 1:  # every id several times (files, addresses, hosts)
        return _aggregated(table).combine_chunks()
    once = pa.array(counts[rank_of] == 1)
    table = table.append_column(_RANK, ranks)
    singles = table.filter(once)
    merged = _aggregated(table.filter(pc.invert(once)))
    both = pa.concat_tables([_merged_columns(singles, singles), merged])
    both = both.take(pc.sort_indices(both.column(_RANK)))
    return both.drop_columns([_RANK]).combine_chunks()  # one chunk: lookups never copy it


def _aggregated(table: pa.Table) -> pa.Table:
    """Arrow's hash aggregation of ``table`` by ``id`` (first-seen order), as merged columns."""
    aggregations: list[tuple[str, str] | tuple[str, str, Any]] = []
    for column in table.column_names:
        if column == "id":
            continue
        aggregations.append((column, *_AGGREGATION.get(column, _refs_or_last(column))))
    grouped = table.group_by("id", use_threads=False).aggregate(aggregations)
    renamed = {f"{column}_{how[0]}": column for column, *how in aggregations}
    return _merged_columns(
        table, grouped.rename_columns([renamed.get(c, c) for c in grouped.column_names])
    )


def _counts(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``number_observed`` typed as its sum is (int64, or float64 when any is fractional), so
    an entity seen once and one merged from several get the same type: null where an
    observation has none (a column of nulls is text after :func:`unified_schema`), and text
    that is a whole number taken as one.

    Raises:
        FetchError: An observation's ``number_observed`` is not a number.
    """
    if pa.types.is_floating(column.type):
        return column.cast(pa.float64())
    try:
        return column.cast(pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next((v for v in column.to_pylist() if v is not None and not _is_count(v)), None)
        raise FetchError(
            f"observed-data has a number_observed that is not a number: {bad!r}",
            hint="STIX 2.0 observed-data carry number_observed as an integer",
        ) from None


def _is_count(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def _refs_or_last(column: str) -> tuple[str, Any]:
    return ("distinct", _VALID) if column.endswith("_refs") else ("last", _LAST)


def _merged_columns(occurrences: pa.Table, values: pa.Table) -> pa.Table:
    """The merged table from ``values``: one value per entity of each column of
    ``occurrences`` (an aggregate, or the occurrence itself when it is the only one)."""
    names, arrays = ["id"], [values.column("id")]
    special = (*OBSERVATION_COLUMNS, SOURCE_COLUMN, ORDINAL, _RANK)
    ordered = [c for c in occurrences.column_names if c not in special and c != "id"]
    ordered += [c for c in special if c in occurrences.column_names]
    for column in ordered:
        names.append(column)
        arrays.append(_finished(column, values.column(column)))
    return pa.table(arrays, names=names)


def _finished(column: str, values: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """One merged column from its aggregate (a list for ``distinct``) or, for entities seen
    once, from the occurrence's own value, typed as the aggregate would be."""
    if column.endswith("_refs") and pa.types.is_list(values.type):
        return _union_lists(values)
    if column == SOURCE_COLUMN:
        if pa.types.is_list(values.type):
            return _joined_sources(values)
        return values.cast(pa.large_string())
    return values


def _union_lists(lists: pa.ChunkedArray) -> pa.Array:
    """The distinct JSON lists of ids of each entity (first seen first) -> one JSON list,
    each id once, first seen first. Most entities have one list, taken as it is; only those
    with several are unioned in Python."""
    lists = lists.combine_chunks()
    lengths = pc.fill_null(pc.list_value_length(lists), 0)
    out = pa.nulls(len(lists), pa.large_string())
    single = pc.equal(lengths, 1)
    out = pc.replace_with_mask(out, single, pc.list_flatten(lists.filter(single)).cast(out.type))
    several = pc.greater(lengths, 1)
    if not pc.any(several).as_py():
        return out
    unions = [
        json_text(list(dict.fromkeys(chain.from_iterable(map(orjson.loads, texts)))))
        for texts in lists.filter(several).to_pylist()
    ]
    return pc.replace_with_mask(out, several, pa.array(unions, pa.large_string()))


def _joined_sources(lists: pa.ChunkedArray) -> pa.Array:
    """Source names per entity -> the distinct ones, sorted, joined by ``,`` (null if none)."""
    out = []
    for values in lists.to_pylist():
        names = sorted({str(v) for v in values if v is not None})
        out.append(",".join(names) if names else None)
    return pa.array(out, type=pa.large_string())


def concat_unified(tables: list[pa.Table]) -> pa.Table:
    """Concatenate tables whose columns and types differ, with one type per column."""
    tables = [t for t in tables if t.num_columns]
    if not tables:
        return pa.table({"id": pa.array([], pa.large_string())})
    schema = unified_schema(t.schema for t in tables)
    return pa.concat_tables([conform(t, schema) for t in tables])

"""Merge SCO occurrences into one row per entity, across every page of a fetch.

Occurrences (:mod:`.occurrences`) with the same ``id`` are one entity. Merging follows firepit
2.3, where each occurrence is an upsert ``ON CONFLICT (id)``:

- a property takes its **last non-null value** in stream order (pages in order, observations in
  page order, SCOs in ``objects`` order); that includes ``*_ref`` target ids;
- ``*_refs`` lists are **unioned**, first seen first;
- ``first_observed`` is the **minimum** and ``last_observed`` the **maximum** over the
  observations that contain the entity, compared as text as firepit's SQL ``MIN``/``MAX`` do;
  ``number_observed`` is the **sum** of those observations' ``number_observed`` (each observation
  once) -- the figures firepit's ``summary()`` gives for the entity.
- when pages disagree on a property's type, ints and floats become floats, anything else text.

:class:`EntitySpool` does this for a stream of pages in bounded memory: each page's occurrences
are buffered per type and spilled to Arrow IPC files, and only :meth:`EntitySpool.table` reads
a type's spilled occurrences back to merge them.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from huntline.fetch.base import ObservedData
from huntline.fetch.identity import IdCache
from huntline.fetch.occurrences import OBSERVATION_COLUMNS, json_text, occurrence_tables
from huntline.fetch.references import Resolver

_LAST = pc.ScalarAggregateOptions(skip_nulls=True)


def merge_occurrences(parts: Iterable[pa.Table]) -> pa.Table:
    """One row per ``id`` from occurrence tables of one type, given in stream order."""
    table = concat_unified(list(parts))
    if table.num_rows == 0:
        return table
    value_columns = [c for c in table.column_names if c not in ("id", *OBSERVATION_COLUMNS)]
    aggregations: list[tuple[str, str] | tuple[str, str, Any]] = []
    for column in value_columns:
        kind = "list" if column.endswith("_refs") else "last"
        aggregations.append((column, kind, _LAST) if kind == "last" else (column, kind))
    present = [c for c in OBSERVATION_COLUMNS if c in table.column_names]
    aggregations += [
        (c, how)
        for c, how in zip(OBSERVATION_COLUMNS, ("min", "max", "sum"), strict=True)
        if c in present
    ]
    merged = table.group_by("id", use_threads=False).aggregate(aggregations)
    names, arrays = ["id"], [merged.column("id")]
    for column in value_columns:
        if column.endswith("_refs"):
            names.append(column)
            arrays.append(_union_lists(merged.column(f"{column}_list")))
        else:
            names.append(column)
            arrays.append(merged.column(f"{column}_last"))
    for column, how in zip(OBSERVATION_COLUMNS, ("min", "max", "sum"), strict=True):
        if column in present:
            names.append(column)
            arrays.append(merged.column(f"{column}_{how}"))
    return pa.table(arrays, names=names).combine_chunks()  # one chunk: lookups never copy it


def _union_lists(lists: pa.ChunkedArray) -> pa.Array:
    """JSON lists of ids per entity -> one JSON list, each id once, first seen first."""
    out: list[str | None] = []
    for values in lists.to_pylist():
        texts = [v for v in values if v is not None]
        if len(set(texts)) <= 1:
            out.append(texts[0] if texts else None)
            continue
        ids = dict.fromkeys(i for text in texts for i in orjson.loads(text))
        out.append(json_text(list(ids)))
    return pa.array(out, type=pa.large_string())


def concat_unified(tables: list[pa.Table]) -> pa.Table:
    """Concatenate tables whose columns and types differ, with one type per column."""
    tables = [t for t in tables if t.num_columns]
    if not tables:
        return pa.table({"id": pa.array([], pa.large_string())})
    kinds: dict[str, set[pa.DataType]] = {}
    for table in tables:
        for field in table.schema:
            kinds.setdefault(field.name, set())
            if not pa.types.is_null(field.type):
                kinds[field.name].add(field.type)
    schema = pa.schema([(name, _common_type(types)) for name, types in kinds.items()])
    return pa.concat_tables([_conform(t, schema) for t in tables])


def _common_type(types: set[pa.DataType]) -> pa.DataType:
    if not types:
        return pa.large_string()
    if len(types) == 1:
        only = next(iter(types))
        return pa.large_string() if pa.types.is_string(only) else only
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
        return pa.float64()
    return pa.large_string()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    arrays = []
    for field in schema:
        if field.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        if column.type != field.type:
            column = _cast(column, field.type)
        arrays.append(column)
    return pa.table(arrays, schema=schema)


def _cast(column: pa.ChunkedArray, to: pa.DataType) -> pa.ChunkedArray:
    """Casts used when merging; booleans as text are ``1``/``0``, as SQLite stores them."""
    if pa.types.is_boolean(column.type) and pa.types.is_large_string(to):
        return pc.if_else(column, "1", "0").cast(to)
    return column.cast(to)


class EntitySpool:
    """Collects the entities of a paged fetch on local disk, then merges them per type.

    ::

        with EntitySpool() as spool:
            async for page in source.pages(...):
                spool.add(page)
            for batch in spool.batches("process"):
                writer.append(batch)

    Memory while adding is bounded by ``flush_rows`` occurrences per type plus the id caches
    (bounded). Merging is not: :meth:`entities` merges one type's occurrences in memory, and
    :meth:`table`/:meth:`batches` keep the merged tables of the root type and of the types it
    references (only those), so that part grows with the number of distinct entities.
    :meth:`batches` dereferences slice by slice, so the wide table is never whole.
    """

    def __init__(self, directory: Path | None = None, *, flush_rows: int = 50_000) -> None:
        self._own = directory is None
        self.directory = (
            Path(tempfile.mkdtemp(prefix="huntline-entities-")) if directory is None else directory
        )
        self.flush_rows = flush_rows
        self.observations = 0
        self._ids = IdCache()
        self._buffers: dict[str, list[pa.Table]] = {}
        self._buffered: dict[str, int] = {}
        self._parts: dict[str, list[Path]] = {}
        self._merged: dict[str, pa.Table] = {}

    def add(self, observed: list[ObservedData]) -> None:
        """Add one page of observed-data (flattened now, merged later)."""
        self.observations += len(observed)
        for sco_type, table in occurrence_tables(observed, self._ids).items():
            self._buffers.setdefault(sco_type, []).append(table)
            self._buffered[sco_type] = self._buffered.get(sco_type, 0) + table.num_rows
            if self._buffered[sco_type] >= self.flush_rows:
                self._spill(sco_type)

    def types(self) -> list[str]:
        """Every SCO type seen so far, sorted."""
        return sorted(set(self._buffers) | set(self._parts))

    def entities(self, sco_type: str) -> pa.Table:
        """The merged entities of one type, without dereferenced columns."""
        if sco_type not in self._merged:
            self._spill(sco_type)
            parts = (_read(path) for path in self._parts.get(sco_type, []))
            self._merged[sco_type] = merge_occurrences(parts)
        return self._merged[sco_type]

    def table(self, entity: str) -> pa.Table:
        """The table of ``entity`` as Kestrel analytics see it: see :func:`entity_table`."""
        return entity_table(_Merged(self), entity)

    def batches(self, entity: str, rows: int = 200_000) -> Iterator[pa.Table]:
        """:meth:`table` in slices of ``rows``, e.g. for ``TableWriter.append``.

        Each slice is dereferenced on its own, so the wide table is never whole in memory.
        """
        base = self.entities(entity)
        for start in range(0, max(base.num_rows, 1), rows):
            yield entity_table(_Merged(self), entity, base.slice(start, rows))

    def _spill(self, sco_type: str) -> None:
        tables = self._buffers.pop(sco_type, [])
        self._buffered.pop(sco_type, None)
        if not tables:
            return
        table = concat_unified(tables)
        parts = self._parts.setdefault(sco_type, [])
        path = self.directory / f"{sco_type}-{len(parts):06d}.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        parts.append(path)

    def close(self) -> None:
        self._merged.clear()
        self._buffers.clear()
        if self._own:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> EntitySpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Merged(Mapping[str, pa.Table]):
    """The spool's merged tables by type, merged only when first looked up."""

    def __init__(self, spool: EntitySpool) -> None:
        self.spool = spool
        self.names = spool.types()

    def __getitem__(self, sco_type: str) -> pa.Table:
        if sco_type not in self.names:
            raise KeyError(sco_type)
        return self.spool.entities(sco_type)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def _read(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def entity_table(
    entities: Mapping[str, pa.Table], entity: str, base: pa.Table | None = None
) -> pa.Table:
    """The Kestrel-shaped table of ``entity``: ``type``, ``id``, its properties, dereferenced
    ``<ref>.<column>`` columns, then ``first_observed``, ``last_observed``, ``number_observed``.

    Args:
        entities: The merged entities of every type, by type.
        entity: The type of the table.
        base: Only these rows of ``entities[entity]`` (default: all).
    """
    if base is None:
        base = entities.get(entity)
    if base is None or base.num_rows == 0:
        empty = pa.array([], pa.large_string())
        columns = {"type": empty, "id": empty, "first_observed": empty, "last_observed": empty}
        return pa.table({**columns, "number_observed": pa.array([], pa.int64())})
    names, arrays = Resolver(entities).resolve(entity, base)
    own = [c for c in base.column_names if c not in OBSERVATION_COLUMNS]
    tail = [c for c in OBSERVATION_COLUMNS if c in base.column_names]
    all_names = ["type", *own, *names, *tail]
    all_arrays = [
        pa.array([entity] * base.num_rows, pa.large_string()),
        *(base.column(c) for c in own),
        *arrays,
        *(base.column(c) for c in tail),
    ]
    return pa.table(all_arrays, names=all_names)

"""Collect the SCO occurrences of a paged fetch and turn them into one table per entity type.

:class:`EntitySpool` takes pages as they arrive, flattens them (:mod:`.occurrences`), buffers
the occurrences per type and spills them to Arrow IPC files, then merges them (:mod:`.merge`,
firepit's upsert rules) and dereferences references (:mod:`.references`) when a table is asked
for. Memory is bounded at every step:

- adding: ``flush_rows`` (10k) buffered occurrences per type, plus the bounded id and plan
  caches;
- merging: a type with at most ``bucket_rows`` (50k) occurrences is merged in memory (and
  kept, as it is small); a larger one is split by id hash into buckets merged one at a time
  (:mod:`.buckets`), so no more than about ``bucket_rows`` occurrences are merged at once;
- dereferencing: :meth:`EntitySpool.batches` reads the root type in first-seen order,
  ``lookup_rows`` (50k) entities at a time (a large type is first sorted on disk, see
  :meth:`.buckets.Buckets.ordered`), fetches the target rows they reach in one go, and yields
  slices of ``rows`` (10k) dereferenced against those rows; it returns the Arrow pool's unused
  memory after each slice (mimalloc would otherwise keep it).

The defaults are sized by ``bench/fetch_flatten.py``: smaller ones cost time for little memory,
larger ones raise the peak (wide process and ``x-oca-event`` slices dominate it).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa

from huntline import scratch
from huntline.fetch.base import ObservedData
from huntline.fetch.stix.collect import page_occurrences
from huntline.fetch.stix.identity import IdCache
from huntline.fetch.stix.plans import SOURCE_COLUMN
from huntline.fetch.stix.rules import OBSERVATION_COLUMNS
from huntline.fetch.tables.buckets import Buckets, bucket_count, reachable, read_ipc
from huntline.fetch.tables.merge import concat_unified, merge_occurrences, unified_schema
from huntline.fetch.tables.references import Resolver
from huntline.tables import write_ipc

__all__ = ["EntitySpool", "concat_unified", "entity_table", "merge_occurrences"]


class EntitySpool:
    """Collects the entities of a paged fetch on local disk, then merges them per type.

    ::

        with EntitySpool() as spool:
            async for page in source.pages(...):
                spool.add(page)
            for batch in spool.batches("process"):
                writer.append(batch)

    Pages from several sources can share one spool: each observed-data's ``x_datasource``
    travels with its occurrences (a column only when the observed-data carry it), and an
    entity seen by two sources is one row whose ``x_datasource`` is ``"a,b"`` (:mod:`.merge`).

    :meth:`batches` is the bounded way out (see the module docstring); :meth:`entities` and
    :meth:`table` return whole tables. All three give entities in first-seen order.
    """

    def __init__(
        self,
        directory: Path | None = None,
        *,
        flush_rows: int = 10_000,
        bucket_rows: int = 50_000,
        lookup_rows: int = 50_000,
    ) -> None:
        self._own = directory is None
        self.directory = scratch.directory("entities-") if directory is None else directory
        self.flush_rows = flush_rows
        self.bucket_rows = bucket_rows
        self.lookup_rows = lookup_rows
        self.observations = 0
        self._ids = IdCache()
        self._buffers: dict[str, list[pa.Table]] = {}
        self._buffered: dict[str, int] = {}
        self._parts: dict[str, list[Path]] = {}
        self._schemas: dict[str, list[pa.Schema]] = {}
        self._rows: dict[str, int] = {}
        self._merged: dict[str, pa.Table] = {}
        self._buckets: dict[str, Buckets] = {}

    def add(self, observed: list[ObservedData]) -> None:
        """Add one page of observed-data (flattened now, merged later)."""
        self.observations += len(observed)
        for source, run in _source_runs(observed):
            self._add_run(source, run)

    def _add_run(self, source: str | None, observed: list[ObservedData]) -> None:
        for sco_type, table in page_occurrences(observed, self._ids).items():
            if source is not None:
                column = pa.array([source] * table.num_rows, pa.large_string())
                table = table.append_column(SOURCE_COLUMN, column)
            self._buffers.setdefault(sco_type, []).append(table)
            self._buffered[sco_type] = self._buffered.get(sco_type, 0) + table.num_rows
            self._rows[sco_type] = self._rows.get(sco_type, 0) + table.num_rows
            if self._buffered[sco_type] >= self.flush_rows:
                self._spill(sco_type)

    def types(self) -> list[str]:
        """Every SCO type seen so far, sorted."""
        return sorted(self._rows)

    def entities(self, sco_type: str) -> pa.Table:
        """The merged entities of one type, without dereferenced columns (the whole table)."""
        found = self._lookup(sco_type)
        if isinstance(found, Buckets):
            return found.table()
        return found

    def table(self, entity: str) -> pa.Table:
        """The table of ``entity`` as Kestrel analytics see it: see :func:`entity_table`."""
        return entity_table(_Merged(self), entity)

    def batches(self, entity: str, rows: int = 10_000) -> Iterator[pa.Table]:
        """:func:`entity_table` of ``entity`` in slices of at most ``rows``, e.g. for
        ``TableWriter.append``, in bounded memory: a large type is read in first-seen order
        across its id buckets, ``lookup_rows`` entities at a time, whose reference targets are
        looked up together (one read of the target buckets); each slice is then dereferenced
        against those rows only. The rows and their order are :meth:`table`'s."""
        if entity not in self._rows:
            yield entity_table({}, entity)
            return
        found = self._lookup(entity)
        step = self.lookup_rows
        if isinstance(found, Buckets):
            windows = found.ordered(step)
        else:
            windows = (found.slice(start, step) for start in range(0, found.num_rows, step))
        present = set(self._rows)
        for window in windows:
            targets = _Merged(self, reachable(entity, window, self._lookup, present))
            for start in range(0, window.num_rows, rows):
                yield entity_table(targets, entity, window.slice(start, rows))
                # mimalloc keeps freed pages; hand back what the last slice used
                pa.default_memory_pool().release_unused()

    def _lookup(self, sco_type: str) -> pa.Table | Buckets:
        """A small type's merged table (kept), or a large type's merged buckets (on disk)."""
        if sco_type in self._merged:
            return self._merged[sco_type]
        if sco_type in self._buckets:
            return self._buckets[sco_type]
        count = bucket_count(self._rows.get(sco_type, 0), self.bucket_rows)
        if count == 1:
            self._spill(sco_type)
            parts = (read_ipc(path) for path in self._parts.get(sco_type, []))
            self._merged[sco_type] = merge_occurrences(parts)
            return self._merged[sco_type]
        self._spill(sco_type)
        schema = unified_schema(self._schemas[sco_type])
        stem = f"{len(self._buckets) + len(self._merged):04d}"  # type names may not be safe
        buckets = Buckets.build(self._parts[sco_type], schema, count, self.directory, stem)
        for path in self._parts.pop(sco_type):
            path.unlink(missing_ok=True)
        if buckets.rows > self.bucket_rows:
            self._buckets[sco_type] = buckets
            return buckets
        # many occurrences of few entities (hosts, addresses): small once merged, so kept
        self._merged[sco_type] = buckets.table()
        buckets.remove()
        return self._merged[sco_type]

    def _spill(self, sco_type: str) -> None:
        tables = self._buffers.pop(sco_type, [])
        self._buffered.pop(sco_type, None)
        if not tables:
            return
        table = concat_unified(tables)
        parts = self._parts.setdefault(sco_type, [])
        path = self.directory / f"{sco_type}-{len(parts):06d}.arrow"
        write_ipc(path, table)
        parts.append(path)
        self._schemas.setdefault(sco_type, []).append(table.schema)

    def close(self) -> None:
        self._merged.clear()
        self._buckets.clear()
        self._buffers.clear()
        if self._own:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> EntitySpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _source_runs(observed: list[ObservedData]) -> Iterator[tuple[str | None, list[ObservedData]]]:
    """Consecutive observations with the same ``x_datasource`` (a page of one source is one run),
    so occurrences keep stream order and each run's occurrences get one source column."""
    start = 0
    for index in range(1, len(observed) + 1):
        if index == len(observed) or _source(observed[index]) != _source(observed[start]):
            yield _source(observed[start]), observed[start:index]
            start = index


def _source(obs: ObservedData) -> str | None:
    value = obs.get(SOURCE_COLUMN)
    return None if value is None else str(value)


class _Merged(Mapping[str, pa.Table]):
    """The spool's merged tables by type, merged only when first looked up.

    With ``subsets``, a bucketed type is only the rows given there (those one slice reaches);
    without, a bucketed type is read whole once per mapping (the resolver may follow several
    references into it).
    """

    def __init__(self, spool: EntitySpool, subsets: dict[str, pa.Table] | None = None) -> None:
        self.spool = spool
        self.names = spool.types()
        self.subsets = subsets
        self._whole: dict[str, pa.Table] = {}

    def __getitem__(self, sco_type: str) -> pa.Table:
        if sco_type not in self.names:
            raise KeyError(sco_type)
        if self.subsets is None:
            if sco_type not in self._whole:
                self._whole[sco_type] = self.spool.entities(sco_type)
            return self._whole[sco_type]
        found = self.spool._lookup(sco_type)
        if isinstance(found, Buckets):
            return self.subsets.get(sco_type, found.schema.empty_table())
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def entity_table(
    entities: Mapping[str, pa.Table], entity: str, base: pa.Table | None = None
) -> pa.Table:
    """The Kestrel-shaped table of ``entity``: ``type``, ``id``, its properties, dereferenced
    ``<ref>.<column>`` columns, then ``first_observed``, ``last_observed``, ``number_observed``
    and, when the observed-data name their source, ``x_datasource`` (see :mod:`.merge`).

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
    last = (*OBSERVATION_COLUMNS, SOURCE_COLUMN)
    own = [c for c in base.column_names if c not in last]
    tail = [c for c in last if c in base.column_names]
    all_names = ["type", *own, *names, *tail]
    all_arrays = [
        pa.array([entity] * base.num_rows, pa.large_string()),
        *(base.column(c) for c in own),
        *arrays,
        *(base.column(c) for c in tail),
    ]
    return pa.table(all_arrays, names=all_names)

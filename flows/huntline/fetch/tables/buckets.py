"""Hash buckets by entity id: merging and dereferencing a large type in bounded memory.

A fetch of a million observations has millions of process occurrences. Merging them in one
``group_by`` needs several KB per occurrence, and dereferencing needs the referenced types'
merged tables. Both only need *all occurrences of one id together*, so a large type's spilled
occurrences are split by a hash of the id into ``count`` buckets (each a separate Arrow IPC file),
and each bucket is merged on its own: the merged buckets, concatenated, are the merged table.

The hash is free: every id ends in a uuid5's hex digits (sha1 output), so the last two hex
digits, masked to ``count - 1`` (a power of two up to 256), spread ids evenly.

Every occurrence carries its stream position (:data:`.merge.ORDINAL`) into its bucket, and each
merged entity keeps its first one, so :meth:`Buckets.ordered` reads the buckets back in
first-seen order, a slice at a time: the same rows in the same order as merging everything at
once, whatever the number of buckets.

Dereferencing a slice of the root table needs only the target rows that slice reaches;
:func:`reachable` collects them hop by hop (as many hops as :class:`~.references.Resolver`
follows), taking from each target bucket only the rows it needs, found through an index of the
bucket's id hashes. The resolver then runs on the slice against those small subsets, so its
output is what it would be against whole tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from huntline.fetch.tables.merge import ORDINAL, conform, merge_occurrences
from huntline.fetch.tables.references import MAX_DEPTH, ref_targets
from huntline.tables import write_ipc

_HEX = pa.array([f"{i:02x}" for i in range(256)], pa.large_string())


def bucket_count(rows: int, bucket_rows: int) -> int:
    """The power of two (1..256) of buckets that keeps each near ``bucket_rows`` occurrences."""
    count = 1
    while count < 256 and rows > count * bucket_rows:
        count *= 2
    return count


def bucket_of(ids: pa.Array | pa.ChunkedArray, count: int) -> pa.Array:
    """Each id's bucket: its last two hex digits masked to ``count - 1``."""
    suffix = pc.utf8_slice_codeunits(ids.cast(pa.large_string()), start=-2)
    index = pc.fill_null(pc.index_in(suffix, value_set=_HEX), 0)
    return pc.bit_wise_and(index, count - 1)


def read_ipc(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


class _Splitter:
    """Writes the rows of tables into ``count`` IPC files by a per-row file number, keeping
    each file's rows in arrival order (a stable sort by file number, then slices)."""

    def __init__(self, paths: list[Path], schema: pa.Schema) -> None:
        self.sinks = [pa.OSFile(str(path), "wb") for path in paths]
        self.writers = [pa.ipc.new_file(sink, schema) for sink in self.sinks]

    def write(self, table: pa.Table, numbers: pa.Array) -> None:
        table = table.take(pc.sort_indices(numbers))
        sizes = pc.value_counts(numbers)
        offsets = dict(zip(*(sizes.field(i).to_pylist() for i in (0, 1)), strict=True))
        start = 0
        for number, writer in enumerate(self.writers):
            size = offsets.get(number, 0)
            if size:
                writer.write_table(table.slice(start, size))
            start += size

    def close(self) -> None:
        for writer, sink in zip(self.writers, self.sinks, strict=True):
            writer.close()
            sink.close()


def id_hashes(ids: list[str]) -> np.ndarray:
    """Python's hash of each id: stable within the process, which is all a spool needs."""
    return np.fromiter(map(hash, ids), dtype=np.int64, count=len(ids))


class _IdIndex:
    """A bucket's rows by the hash of their id (sorted hashes, and the row of each)."""

    def __init__(self, hashes: np.ndarray) -> None:
        self.rows = np.argsort(hashes, kind="stable")
        self.hashes = hashes[self.rows]

    def rows_of(self, hashes: np.ndarray) -> np.ndarray:
        """The rows whose id hash is one of ``hashes``, ascending, each once."""
        first = np.searchsorted(self.hashes, hashes, side="left")
        last = np.searchsorted(self.hashes, hashes, side="right")
        counts = last - first
        shared = [self.rows[first[i] : last[i]] for i in np.flatnonzero(counts > 1)]
        return np.unique(np.concatenate([self.rows[first[counts == 1]], *shared]))


class Buckets:
    """The merged entities of one type as one IPC file per id bucket, all of one schema.

    The files also hold each entity's first stream position (:data:`.merge.ORDINAL`);
    ``schema`` and everything read out leave it out.
    """

    def __init__(self, paths: list[Path], schema: pa.Schema, rows: int) -> None:
        self.paths = paths
        self.rows = rows
        self.schema = schema.remove(schema.get_field_index(ORDINAL))
        self._full_schema = schema
        self._ranges: list[Path] | None = None
        self._indexes: dict[int, _IdIndex] = {}

    def ordered(self, rows: int) -> Iterator[pa.Table]:
        """Every entity, in first-seen order, ``rows`` at a time.

        The first call sorts the type on disk, in two passes that hold one bucket at a time:
        the ordinals of every entity (8 bytes each) give as many ordinal ranges as there are
        buckets, each about a bucket's size, and each bucket's rows go to their range's file.
        A range is then read and sorted on its own. (Reading the slices of every bucket for
        each batch instead maps every bucket file at once: the whole type in RSS.)
        """
        for path in self._sorted_ranges():
            table = read_ipc(path)
            table = table.take(pc.sort_indices(table.column(ORDINAL))).drop_columns([ORDINAL])
            for start in range(0, table.num_rows, rows):
                yield table.slice(start, rows)

    def table(self) -> pa.Table:
        """Every entity in one table, in first-seen order (sorted in memory: it is whole)."""
        table = pa.concat_tables([read_ipc(path) for path in self.paths])
        table = table.take(pc.sort_indices(table.column(ORDINAL)))
        return table.drop_columns([ORDINAL]).combine_chunks()

    def _sorted_ranges(self) -> list[Path]:
        if self._ranges is not None:
            return self._ranges
        ordinals = [
            np.array(read_ipc(path).column(ORDINAL).combine_chunks().to_numpy(), copy=True)
            for path in self.paths
        ]
        everything = np.sort(np.concatenate(ordinals))
        if len(everything) == 0:
            self._ranges = []
            return self._ranges
        count = len(self.paths)
        per_range = -(-len(everything) // count)
        # the last ordinal of each range: a row goes to the first range whose bound is >= it
        bounds = everything[np.minimum(np.arange(1, count + 1) * per_range, len(everything)) - 1]
        self._ranges = [p.with_name(p.name.replace("-merged-", "-ordered-")) for p in self.paths]
        splitter = _Splitter(self._ranges, self._full_schema)
        try:
            for path, ordinal in zip(self.paths, ordinals, strict=True):
                numbers = pa.array(np.searchsorted(bounds, ordinal, side="left"), pa.int64())
                splitter.write(read_ipc(path), numbers)
        finally:
            splitter.close()
        return self._ranges

    def remove(self) -> None:
        """Delete the files."""
        for path in [*self.paths, *(self._ranges or [])]:
            path.unlink(missing_ok=True)

    def take_ids(self, ids: pa.Array) -> pa.Table:
        """The rows whose id is in ``ids``, in bucket order.

        Each bucket's ids are indexed by hash on the first call (16 bytes per entity), so a
        lookup reads only the matching rows: probing whole buckets instead made every slice of
        a million-entity root cost a pass over every target bucket.
        """
        numbers = bucket_of(ids, len(self.paths)).to_numpy()
        by_bucket = np.argsort(numbers, kind="stable")  # one sort, then a slice per bucket
        ids = ids.take(pa.array(by_bucket))
        keys = id_hashes(ids.to_pylist())
        numbers = numbers[by_bucket]
        starts = np.searchsorted(numbers, np.arange(len(self.paths) + 1))
        found = []
        for bucket in np.flatnonzero(np.diff(starts)):
            start, stop = starts[bucket], starts[bucket + 1]
            rows = self._index(int(bucket)).rows_of(keys[start:stop])
            if len(rows):
                table = read_ipc(self.paths[bucket]).take(pa.array(rows))
                # exact even when two ids share a hash
                exact = pc.is_in(table.column("id"), value_set=ids.slice(start, stop - start))
                found.append(table.filter(exact))
        if not found:
            return self.schema.empty_table()
        return pa.concat_tables(found).drop_columns([ORDINAL]).combine_chunks()

    def _index(self, bucket: int) -> _IdIndex:
        if bucket not in self._indexes:
            ids = read_ipc(self.paths[bucket]).column("id").to_pylist()
            self._indexes[bucket] = _IdIndex(id_hashes(ids))
        return self._indexes[bucket]

    @classmethod
    def build(
        cls, parts: list[Path], schema: pa.Schema, count: int, directory: Path, stem: str
    ) -> Buckets:
        """Split spilled occurrence ``parts`` (stream order) by id bucket, then merge each.

        Only one part, then one bucket, is in memory at a time. The split keeps the stream
        order within each bucket, which the last-non-null rule depends on; the stream position
        of each occurrence goes along as :data:`.merge.ORDINAL`.
        """
        schema = schema.append(pa.field(ORDINAL, pa.int64()))
        raw = [directory / f"{stem}-raw-{b:03d}.arrow" for b in range(count)]
        splitter = _Splitter(raw, schema)
        position = 0
        try:
            for part in parts:
                table = read_ipc(part)
                ordinal = pa.array(np.arange(position, position + table.num_rows, dtype=np.int64))
                position += table.num_rows
                table = conform(table.append_column(ORDINAL, ordinal), schema)
                splitter.write(table, bucket_of(table.column("id"), count))
        finally:
            splitter.close()
        paths = [directory / f"{stem}-merged-{bucket:03d}.arrow" for bucket in range(count)]
        merged_schema = None
        empty = []
        rows = 0
        for path, merged_path in zip(raw, paths, strict=True):
            merged = merge_occurrences([read_ipc(path)])
            path.unlink()
            rows += merged.num_rows
            if merged.num_rows == 0:  # an empty table keeps its raw columns: written last
                empty.append(merged_path)
                continue
            merged_schema = merged_schema or merged.schema
            write_ipc(merged_path, merged)
        merged_schema = merged_schema or schema
        for merged_path in empty:
            write_ipc(merged_path, merged_schema.empty_table())
        return cls(paths, merged_schema, rows)


def reachable(
    root: str,
    rows: pa.Table,
    lookup: Callable[[str], pa.Table | Buckets],
    present: set[str],
) -> dict[str, pa.Table]:
    """For each bucketed type, the rows that ``rows`` (of type ``root``) reach by references.

    Follows every ``*_ref`` column into every type its name may point at (a superset of what
    the resolver follows), for one hop more than ``MAX_DEPTH`` (the resolver's depth plus the
    parent copy of a process). In-memory types are looked through but not copied.
    """
    subsets: dict[str, list[pa.Table]] = {}
    loaded: dict[str, pa.Array] = {}
    frontier = [(root, rows)]
    for _ in range(MAX_DEPTH + 1):
        needed: dict[str, list[pa.Array]] = {}
        for sco_type, table in frontier:
            for column in table.column_names:
                if not column.endswith("_ref"):
                    continue
                for target in ref_targets(sco_type, column):
                    if target in present:
                        ids = table.column(column).combine_chunks().cast(pa.large_string())
                        needed.setdefault(target, []).append(ids)
        frontier = []
        for target, columns in needed.items():
            ids = pc.unique(pa.concat_arrays(columns)).drop_null()
            if target in loaded:
                ids = ids.filter(pc.invert(pc.is_in(ids, value_set=loaded[target])))
                loaded[target] = pa.concat_arrays([loaded[target], ids])
            else:
                loaded[target] = ids
            if len(ids) == 0:
                continue
            source = lookup(target)
            if isinstance(source, Buckets):
                found = source.take_ids(ids)
                subsets.setdefault(target, []).append(found)
            else:
                found = source.filter(pc.is_in(source.column("id"), value_set=ids))
            frontier.append((target, found))
        if not frontier:
            break
    return {t: pa.concat_tables(parts).combine_chunks() for t, parts in subsets.items()}

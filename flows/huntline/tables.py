"""Arrow tables: the one rule for a column's type across pages and parts, local Arrow IPC
scratch files, and parquet tables written to and read from object storage.

Pages of a fetch and parts of a stored table rarely agree on every column: a column may be
missing, all null, or an integer in one page and a float in the next. The fetch merge and
:class:`TableWriter` both follow :func:`unified_schema`, so a column gets the same type whichever
path a table takes:

- all null everywhere: text (``large_string``);
- one type: that type (``string`` widened to ``large_string``);
- integers and floats: ``float64``;
- anything else: text, booleans written ``1``/``0`` as SQLite (firepit) stores them.

Table building lives here, not in :mod:`huntline.storage`, so that storage only moves bytes
(objects, atomic writes, URIs) and depends on no other huntline module but the errors; this
module sits on top of it, and the stages on top of both.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from huntline.errors import StorageError
from huntline.scratch import process_dir
from huntline.storage import ObjectStore, TableRef, key_of


def unified_schema(schemas: Iterable[pa.Schema]) -> pa.Schema:
    """One type per column over ``schemas``, columns first seen first."""
    kinds: dict[str, set[pa.DataType]] = {}
    for schema in schemas:
        for field in schema:
            kinds.setdefault(field.name, set())
            if not pa.types.is_null(field.type):
                kinds[field.name].add(field.type)
    return pa.schema([(name, common_type(types)) for name, types in kinds.items()])


def common_type(types: set[pa.DataType]) -> pa.DataType:
    """The type a column takes when its pages have ``types`` (nulls left out)."""
    if not types:
        return pa.large_string()
    if len(types) == 1:
        only = next(iter(types))
        return pa.large_string() if pa.types.is_string(only) else only
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in types):
        return pa.float64()
    return pa.large_string()


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly the columns of ``schema``, cast to its types, nulls if missing."""
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
    """Booleans as text are ``1``/``0``, as SQLite stores them; other casts are Arrow's."""
    if pa.types.is_boolean(column.type) and pa.types.is_large_string(to):
        return pc.if_else(column, "1", "0").cast(to)
    return column.cast(to)


def write_ipc(path: Path, table: pa.Table, *, batch_rows: int | None = None) -> None:
    """Write ``table`` as an Arrow IPC file (local scratch: fast to write and to read back),
    in record batches of at most ``batch_rows`` rows."""
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=batch_rows)


def ipc_schema(path: Path) -> pa.Schema:
    """The schema of an Arrow IPC file, without reading its batches."""
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_file(source).schema


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class TableWriter:
    """Builds one parquet table from batches that may differ in columns, in bounded memory.

    Each batch is spilled to a local part file as it arrives. On :meth:`commit` the parts are
    streamed, ``slice_rows`` rows at a time, into a single parquet file with the union schema
    (one row group per slice), which is uploaded to ``key`` atomically. Nothing appears under
    ``key`` until then. Memory is bounded by one appended batch and one slice, not by the table.

    Stored tables are zstd parquet: it writes about 7x faster than gzip, with smaller files,
    on fetched entity tables (``bench/README.md``). Analytics containers still get gzip, as
    their contract says (:mod:`huntline.analytics.docker_runner` rewrites their inputs).
    """

    slice_rows = 8_192

    def __init__(self, store: ObjectStore, key: str) -> None:
        self.store = store
        self.key = key
        self.rows = 0
        self._workdir = Path(tempfile.mkdtemp(prefix="table-", dir=process_dir()))
        self._parts: list[Path] = []

    def append(self, batch: pd.DataFrame | pa.Table) -> None:
        table = (
            batch
            if isinstance(batch, pa.Table)
            else pa.Table.from_pandas(batch, preserve_index=False)
        )
        if table.num_rows == 0 and table.num_columns == 0:
            return
        part = self._workdir / f"part-{len(self._parts):06d}.arrow"
        write_ipc(part, table, batch_rows=self.slice_rows)
        self._parts.append(part)
        self.rows += table.num_rows

    def commit(self) -> TableRef:
        """Write the final object and return its reference."""
        final = self._workdir / "table.parquet"
        schema = unified_schema(ipc_schema(part) for part in self._parts)
        with pq.ParquetWriter(final, schema, compression="zstd") as writer:
            for part in self._parts:
                with pa.OSFile(str(part)) as source:
                    reader = pa.ipc.open_file(source)
                    for index in range(reader.num_record_batches):
                        batch = pa.Table.from_batches([reader.get_batch(index)])
                        writer.write_table(conform(batch, schema))
                # mimalloc keeps freed pages; hand back what this part used
                pa.default_memory_pool().release_unused()
        self.store.put_file(self.key, final)
        return TableRef(
            uri=self.store.uri(self.key),
            rows=self.rows,
            columns=schema.names,
            sha256=sha256_of(final),
        )

    def close(self) -> None:
        for path in self._workdir.glob("*"):
            path.unlink()
        self._workdir.rmdir()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: A frame up to this many rows is written from memory: the spool's temporary folder, Arrow
#: file and streamed rewrite cost about 15 ms a table, most of an alert step of a pack member
#: that raised a few alerts (bench/pack_rules.py).
SMALL_ROWS = 10_000


def write_table(store: ObjectStore, key: str, frame: pd.DataFrame | pa.Table) -> TableRef:
    """Write one DataFrame (or Arrow table) as a parquet object and return its reference: small
    frames from memory, larger ones through :class:`TableWriter`, the same bytes either way
    (tests/unit/test_write_table.py)."""
    if 0 < len(frame) <= SMALL_ROWS:  # (an empty one as ever: no row group, the same bytes)
        table = (
            frame
            if isinstance(frame, pa.Table)
            else pa.Table.from_pandas(frame, preserve_index=False)
        )
        schema = unified_schema([table.schema])
        data = parquet_bytes(conform(table, schema))
        store.put_bytes(key, data)
        return TableRef(
            uri=store.uri(key),
            rows=table.num_rows,
            columns=schema.names,
            sha256=hashlib.sha256(data).hexdigest(),
        )
    with TableWriter(store, key) as writer:
        writer.append(frame)
        return writer.commit()


def read_table(store: ObjectStore, ref: TableRef | str) -> pd.DataFrame:
    """Read a parquet object (by reference or URI) into a DataFrame."""
    uri = ref.uri if isinstance(ref, TableRef) else ref
    with _local_copy(store, key_of(store, uri)) as path:
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as error:
            raise StorageError(
                f"{uri} is not a readable parquet table: {error}", uri=uri
            ) from error


def parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as zstd parquet bytes, for small objects changed by compare-and-swap."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue())


def parquet_table(data: bytes) -> pa.Table:
    """The parquet table in ``data``, read from a copy in Arrow's own memory, so that no Arrow
    thread ever holds Python's.

    ``pq.read_table`` scans through Arrow's dataset machinery, whose read-ahead futures are
    sometimes released on an Arrow worker thread just after the call returns. Read from a Python
    object (``io.BytesIO``), those futures hold Python-owned buffers, and freeing one needs the
    GIL. If that happens while the interpreter is finalizing, the worker is made to exit
    (``pthread_exit``) inside a ``noexcept`` C++ destructor, and the process aborts with
    "terminate called without an active exception" after its output is written: the flaky
    SIGABRT of ``huntline alerts list``: 8 of 57 runs on a loaded 2-core machine, none of 79
    with this copy. Arrow-owned memory is freed without the GIL, so the release can happen on any
    thread at any time. The copy costs under a millisecond per 10 MB of ledger.
    """
    sink = pa.BufferOutputStream()
    sink.write(data)
    return pq.read_table(pa.BufferReader(sink.getvalue()))


@contextmanager
def _local_copy(store: ObjectStore, key: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="read-", dir=process_dir()) as directory:
        path = Path(directory) / "object"
        store.download(key, path)
        yield path

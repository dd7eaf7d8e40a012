"""Arrow tables whose pages or parts differ: the one rule for a column's type, conforming a
table to it, and local Arrow IPC scratch files.

Pages of a fetch and parts of a stored table rarely agree on every column: a column may be
missing, all null, or an integer in one page and a float in the next. The fetch merge and the
table writer of :mod:`huntline.storage` both follow :func:`unified_schema`, so a column gets
the same type whichever path a table takes:

- all null everywhere: text (``large_string``);
- one type: that type (``string`` widened to ``large_string``);
- integers and floats: ``float64``;
- anything else: text, booleans written ``1``/``0`` as SQLite (firepit) stores them.

It imports no other huntline module, so storage and fetch both sit above it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc


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

"""The alert ledger: the memory of a hunt's alerts across runs, one row per dedup key.

Each entry records when the key was first and last seen, how often, the time of its newest
evidence (``last_event``) and the evidence time its last notification covered
(``notified_until``), its status (``new``: seen,
nobody to tell; ``pending``: a delivery is owed; ``delivered``; ``suppressed``: seen again while
suppressed; ``failed``: given up after :data:`MAX_ATTEMPTS` runs), the destinations tried and
those that accepted it, the attempts, and the latest alert itself (JSON), so a pending alert can
be sent by a later run and ``huntline alerts show`` can print it.

It is stored as one parquet object (any parquet reader opens it); its generation number, raised
by every write, sits in the file's metadata. A run reads it, touches the keys it saw, and writes
it back: untouched rows are carried over as Arrow columns, never turned into Python objects, so
a ledger of 100,000 keys reads and writes in a fraction of a second (``bench/alert_ledger.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from huntline.alert.statuses import STATUSES
from huntline.errors import AlertError
from huntline.tables import parquet_bytes, parquet_table

MAX_ATTEMPTS = 10
GENERATION = b"huntline.ledger.generation"
_TIME = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("status", pa.string()),
        ("title", pa.string()),
        ("severity", pa.string()),
        ("risk_score", pa.int64()),
        ("first_seen", _TIME),
        ("last_seen", _TIME),
        ("count", pa.int64()),
        ("last_event", _TIME),
        ("notified_at", _TIME),
        ("notified_until", _TIME),
        ("destinations", pa.list_(pa.string())),
        ("delivered_to", pa.list_(pa.string())),
        ("attempts", pa.int64()),
        ("last_error", pa.string()),
        ("last_run", pa.string()),
        ("claimed_by", pa.string()),
        ("claim_until", _TIME),
        ("alert", pa.string()),
    ]
)


@dataclass
class LedgerEntry:
    """One dedup key's record. ``alert`` is the latest alert's JSON (an ``AlertRecord``)."""

    key: str
    status: str
    title: str
    severity: str
    first_seen: datetime
    last_seen: datetime
    last_event: datetime
    alert: str
    last_run: str
    risk_score: int | None = None
    count: int = 1
    notified_at: datetime | None = None
    notified_until: datetime | None = None
    destinations: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    attempts: int = 0
    last_error: str | None = None
    claimed_by: str | None = None
    claim_until: datetime | None = None


_FIELDS = [f.name for f in fields(LedgerEntry)]
assert sorted(_FIELDS) == sorted(SCHEMA.names)


def as_row(entry: LedgerEntry) -> dict[str, object]:
    """``entry`` as a plain dict (shallow: ``dataclasses.asdict`` deep-copies every value)."""
    return {name: getattr(entry, name) for name in _FIELDS}


class Ledger:
    """A hunt's ledger as read at one generation, plus the entries this run touched."""

    def __init__(self, table: pa.Table | None = None, generation: int = 0) -> None:
        self.generation = generation
        self._table = table if table is not None else SCHEMA.empty_table()
        keys = self._table.column("key").to_pylist()
        self._rows: dict[str, int] = {key: index for index, key in enumerate(keys)}
        self._touched: dict[str, LedgerEntry] = {}

    def __len__(self) -> int:
        return len(self._rows) + sum(1 for key in self._touched if key not in self._rows)

    def __contains__(self, key: str) -> bool:
        return key in self._touched or key in self._rows

    def get(self, key: str) -> LedgerEntry | None:
        """The entry of ``key`` (a copy is not made: change it, then :meth:`put` it)."""
        if key in self._touched:
            return self._touched[key]
        row = self._rows.get(key)
        if row is None:
            return None
        values = self._table.slice(row, 1).to_pylist()[0]
        return LedgerEntry(**values)

    def put(self, entry: LedgerEntry) -> None:
        self._touched[entry.key] = entry

    @property
    def changed(self) -> bool:
        """Whether any entry was put since the ledger was read."""
        return bool(self._touched)

    def keys_in(self, statuses: tuple[str, ...] = STATUSES) -> list[str]:
        """Keys whose status is one of ``statuses``, stored order first, then new ones."""
        mask = pc.is_in(self._table.column("status"), value_set=pa.array(statuses))
        stored = self._table.filter(mask).column("key").to_pylist()
        result = [key for key in stored if key not in self._touched]
        result.extend(k for k, e in self._touched.items() if e.status in statuses)
        order = {key: index for index, key in enumerate(self._rows)}
        return sorted(result, key=lambda key: order.get(key, len(order)))

    def entries(self) -> Iterator[LedgerEntry]:
        """Every entry, materialised (for listing; a run only touches what it needs)."""
        for key in self.keys_in():
            entry = self.get(key)
            assert entry is not None
            yield entry

    def to_table(self) -> pa.Table:
        """The whole ledger: untouched rows as they were, touched rows replaced or added."""
        if not self._touched:
            return self._table
        keep = pc.invert(
            pc.is_in(self._table.column("key"), value_set=pa.array(list(self._touched)))
        )
        changed = pa.Table.from_pylist(
            [as_row(entry) for entry in self._touched.values()], schema=SCHEMA
        )
        return pa.concat_tables([self._table.filter(keep), changed])


def ledger_bytes(ledger: Ledger, generation: int) -> bytes:
    """``ledger`` as parquet, stamped with ``generation``."""
    table = ledger.to_table().replace_schema_metadata({GENERATION: str(generation).encode()})
    return parquet_bytes(table)


def parse_ledger(data: bytes, uri: str) -> Ledger:
    """Read a stored ledger; raises :class:`AlertError` if it is not one (never resets it)."""
    try:
        table = parquet_table(data)
        generation = int((table.schema.metadata or {})[GENERATION])
        table = table.select(SCHEMA.names).cast(SCHEMA)
    except (pa.ArrowException, KeyError, ValueError, OSError) as error:
        raise AlertError(
            f"the alert ledger {uri} is unreadable ({type(error).__name__}: {error}); "
            "nothing was sent",
            uri=uri,
            hint="restore it from a backup or a previous version of the object; moving it "
            "aside starts an empty ledger, and every alert it held would be sent again",
        ) from error
    return Ledger(table.replace_schema_metadata(None), generation)

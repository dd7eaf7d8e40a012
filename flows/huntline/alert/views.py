"""The ledger as people read it: ``huntline alerts list`` and ``huntline alerts show``, and the
one-word status of each alert of a run.

``list`` reads the ledger of one hunt (or of every hunt in the storage) into rows; ``show``
finds one key, and its evidence rows: those of the evidence parquet of the run that last raised
it whose ``x_alert_key`` is the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pandas as pd

from huntline.alert.alerts import KEY_COLUMN, AlertRecord
from huntline.alert.ledger import LedgerEntry, as_row
from huntline.alert.ledger_store import LEDGER_KEY, ledger_store
from huntline.alert.section import SectionResult
from huntline.alert.statuses import STATUSES
from huntline.errors import AlertError
from huntline.storage import ObjectStore
from huntline.tables import read_table


def alert_status(delivery: SectionResult | None, dry_run: bool) -> Callable[[str], str]:
    """A function from alert key to what happened to it in this run, in a few words."""

    def status(key: str) -> str:
        if delivery is None:
            return "raised"
        if dry_run:
            targets = delivery.would_send.get(key)
            if targets:
                return f"would send to {', '.join(targets)}"
            return "suppressed" if key in delivery.suppressed else "would record"
        if key in delivery.pending:
            return "PENDING"
        if key in delivery.sent:
            return f"sent to {', '.join(delivery.sent[key])}"
        return "suppressed" if key in delivery.suppressed else "recorded"

    return status


def hunts_with_ledgers(store: ObjectStore) -> list[str]:
    """The hunt ids that have a ledger in ``store``."""
    return [key[: -len(LEDGER_KEY) - 1] for key in store.list() if key.endswith(LEDGER_KEY)]


def ledger_rows(
    store: ObjectStore, hunt_ids: list[str], statuses: tuple[str, ...] = STATUSES
) -> list[dict[str, Any]]:
    """One row per ledger entry of each hunt, newest sighting first (the alert JSON left out)."""
    rows = []
    for hunt_id in hunt_ids:
        ledger, _ = ledger_store(store, hunt_id).read()
        for key in ledger.keys_in(statuses):
            entry = ledger.get(key)
            assert entry is not None
            row = {"hunt_id": hunt_id, **as_row(entry)}
            row.pop("alert")
            rows.append(row)
    return sorted(rows, key=lambda row: row["last_seen"], reverse=True)


def find_entry(store: ObjectStore, key: str, hunt_ids: list[str]) -> tuple[str, LedgerEntry]:
    """The ledger entry of ``key`` (a unique prefix is enough) and its hunt id."""
    found: list[tuple[str, str]] = []
    for hunt_id in hunt_ids:
        ledger, _ = ledger_store(store, hunt_id).read()
        found.extend((hunt_id, k) for k in ledger.keys_in() if k.startswith(key))
    exact = [(hunt_id, k) for hunt_id, k in found if k == key]
    found = exact or found
    if len(found) != 1:
        what = "no alert" if not found else f"{len(found)} alerts"
        raise AlertError(
            f"{what} with key {key!r} in the ledgers of {store.root}",
            hint="huntline alerts list shows the keys; give more of the key if it is ambiguous",
        )
    hunt_id, full = found[0]
    entry = ledger_store(store, hunt_id).read()[0].get(full)
    assert entry is not None
    return hunt_id, entry


def evidence_rows(store: ObjectStore, entry: LedgerEntry) -> pd.DataFrame:
    """The evidence rows of the run that last raised ``entry``'s alert."""
    record = AlertRecord.model_validate_json(entry.alert)
    table = read_table(store, record.evidence_uri)
    if KEY_COLUMN not in table.columns:
        return table
    return table[table[KEY_COLUMN] == entry.key].drop(columns=[KEY_COLUMN])


def entry_json(hunt_id: str, entry: LedgerEntry) -> dict[str, Any]:
    """An entry as JSON-ready data, its alert parsed."""
    data = {"hunt_id": hunt_id, **as_row(entry)}
    data["alert"] = orjson.loads(entry.alert)
    return data

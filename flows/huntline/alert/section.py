"""The ledger section of a run: record what was seen, send what is due, record what got through.

1. **Claim** (one conditional ledger write): every alert of the run updates its key's
   ``last_seen`` and ``count``; the keys that are due (new, owed, or out of suppression with
   something new) are marked ``pending`` and claimed by this run for :data:`CLAIM` so an
   overlapping run does not send them too. Keys still ``pending`` from earlier runs are claimed
   as well: their stored alert is sent again, to the destinations that have not accepted it.
   If the ledger cannot be read, this raises and nothing is sent.
2. **Send** the claimed alerts (:mod:`huntline.alert.delivery`), outside any lock.
3. **Record** (a second conditional write): each key's accepted destinations; a key is
   ``delivered`` once every destination accepted it, else stays ``pending`` for the next run
   (``failed`` after :data:`~huntline.alert.ledger.MAX_ATTEMPTS` runs).

A dry run reads the ledger and works out step 1 in memory: it sends nothing and writes nothing.
Around all of it the Prefect layer holds a concurrency limit of one per hunt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel

from huntline.alert.alerts import AlertRecord, evidence_time
from huntline.alert.dedup import is_due
from huntline.alert.delivery import DEFAULT_RETRY, RetryPolicy, deliver
from huntline.alert.destinations import load_destinations, resolve
from huntline.alert.ledger import MAX_ATTEMPTS, Ledger, LedgerEntry
from huntline.alert.ledger_store import LedgerStore, update_ledger
from huntline.book.model import Alert
from huntline.schemes import has_scheme

CLAIM = timedelta(minutes=15)


class SectionResult(BaseModel):
    """What the ledger section did, by alert key."""

    sent: dict[str, list[str]] = {}
    would_send: dict[str, list[str]] = {}
    pending: dict[str, str] = {}
    suppressed: list[str] = []
    messages: int = 0
    digests: int = 0


@dataclass
class _Claim:
    """Step 1's outcome: what this run owes to whom."""

    due: dict[str, tuple[AlertRecord, list[str]]] = field(default_factory=dict)
    suppressed: list[str] = field(default_factory=list)


def run_section(
    store: LedgerStore,
    alert: Alert,
    records: Sequence[AlertRecord],
    *,
    now: datetime,
    run_id: str,
    hunt_title: str,
    dry_run: bool,
    retry: RetryPolicy = DEFAULT_RETRY,
    warn: Callable[[str], None] = lambda _: None,
) -> SectionResult:
    """Dedup, suppress, deliver and record ``records`` against the hunt's ledger."""
    named = load_destinations() if not all(map(has_scheme, alert.notify)) else {}
    destinations = {d.label: d for d in (resolve(spec, named) for spec in alert.notify)}
    labels = list(destinations)

    def claim(ledger: Ledger) -> _Claim:
        return _claim(ledger, alert, records, labels, now=now, run_id=run_id)

    if dry_run:
        ledger, _ = store.read()
        claimed = claim(ledger)
        return SectionResult(
            would_send={key: targets for key, (_, targets) in claimed.due.items()},
            suppressed=claimed.suppressed,
        )
    claimed = update_ledger(store, claim)
    owed: dict[str, list[AlertRecord]] = {}
    for record, targets in claimed.due.values():
        for label in targets:
            owed.setdefault(label, []).append(record)
    report = deliver(
        owed,
        destinations,
        max_notifications=alert.max_notifications,
        hunt_title=hunt_title,
        retry=retry,
        warn=warn,
    )
    if claimed.due:
        update_ledger(
            store,
            lambda ledger: _record(ledger, claimed, report.delivered, report.errors, now, run_id),
        )
    return SectionResult(
        sent=report.delivered,
        pending={key: report.errors.get(key, "") for key in claimed.due if key in report.errors},
        suppressed=claimed.suppressed,
        messages=report.messages,
        digests=report.digests,
    )


def _claim(
    ledger: Ledger,
    alert: Alert,
    records: Sequence[AlertRecord],
    labels: list[str],
    *,
    now: datetime,
    run_id: str,
) -> _Claim:
    result = _Claim()
    suppress_for = timedelta(seconds=alert.suppress_seconds)
    seen = set()
    for record in records:
        seen.add(record.alert_id)
        before = ledger.get(record.alert_id)
        entry = _observed(before, record, now, run_id)
        if _claimed_elsewhere(before, now, run_id):
            pass  # another live run is sending it
        elif is_due(
            before, now=now, suppress_for=suppress_for, evidence_time=evidence_time(record)
        ):
            if before is None or before.status in {"new", "delivered", "suppressed"}:
                entry.delivered_to = []  # a fresh notification, to every destination
            entry.destinations = list(labels)
            targets = [label for label in labels if label not in entry.delivered_to]
            if targets:
                _take(entry, now, run_id)
                result.due[record.alert_id] = (record, targets)
            else:  # nobody to tell, or every destination of the book has it already
                entry.status = "delivered" if labels else "new"
        elif entry.status in {"delivered", "suppressed"}:
            entry.status = "suppressed"
            result.suppressed.append(record.alert_id)
        ledger.put(entry)
    for key in ledger.keys_in(("pending",)):
        owed = ledger.get(key)
        assert owed is not None
        if key in seen or _claimed_elsewhere(owed, now, run_id):
            continue
        targets = [label for label in labels if label not in owed.delivered_to]
        if targets:
            owed.destinations = list(labels)  # the book's destinations now
            _take(owed, now, run_id)
            ledger.put(owed)
            result.due[key] = (AlertRecord.model_validate_json(owed.alert), targets)
    return result


def _observed(
    before: LedgerEntry | None, record: AlertRecord, now: datetime, run_id: str
) -> LedgerEntry:
    """The entry of ``record``'s key after this sighting (a new one, or ``before`` updated)."""
    alert_json = record.model_dump_json()
    if before is None:
        return LedgerEntry(
            key=record.alert_id,
            status="new",
            title=record.title,
            severity=record.severity,
            risk_score=record.risk_score,
            first_seen=now,
            last_seen=now,
            last_event=evidence_time(record),
            alert=alert_json,
            last_run=run_id,
        )
    before.last_seen = max(before.last_seen, now)
    before.count += 1
    before.last_event = max(before.last_event, evidence_time(record))
    before.title, before.severity, before.risk_score = (
        record.title,
        record.severity,
        record.risk_score,
    )
    before.alert = alert_json
    before.last_run = run_id
    return before


def _claimed_elsewhere(entry: LedgerEntry | None, now: datetime, run_id: str) -> bool:
    return (
        entry is not None
        and entry.claimed_by not in (None, run_id)
        and entry.claim_until is not None
        and entry.claim_until > now
    )


def _take(entry: LedgerEntry, now: datetime, run_id: str) -> None:
    entry.status = "pending"
    entry.claimed_by = run_id
    entry.claim_until = now + CLAIM


def _record(
    ledger: Ledger,
    claimed: _Claim,
    delivered: dict[str, list[str]],
    errors: dict[str, str],
    now: datetime,
    run_id: str,
) -> None:
    for key, (record, _) in claimed.due.items():
        entry = ledger.get(key)
        if entry is None:  # only a hand-edited ledger loses a claimed key
            continue
        entry.delivered_to = list(dict.fromkeys([*entry.delivered_to, *delivered.get(key, [])]))
        entry.attempts += 1
        if entry.claimed_by == run_id:
            entry.claimed_by, entry.claim_until = None, None
        if all(label in entry.delivered_to for label in entry.destinations):
            entry.status, entry.last_error = "delivered", None
            entry.notified_at = now
            covered = evidence_time(record)
            entry.notified_until = max(covered, entry.notified_until or covered)
        else:
            entry.last_error = errors.get(key)
            entry.status = "failed" if entry.attempts >= MAX_ATTEMPTS else "pending"
        ledger.put(entry)

"""The ledger section, without Prefect: dedup, suppression, pending retries, digests, dry runs.

Destinations are real: a ``jsonl://`` file, and an apprise ``json://`` URL on a port where
nothing listens (connection refused) for a destination that is down.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pandas as pd
from inline_books import custom_type_book

from huntline.alert import alert_groups, build_alerts, matching_rows
from huntline.alert.alerts import AlertRecord, RunInfo
from huntline.alert.delivery import RetryPolicy, plan_messages
from huntline.alert.ledger_store import LedgerStore, ledger_store
from huntline.alert.section import SectionResult, run_section
from huntline.book import parse_book
from huntline.book.model import HuntBook
from huntline.storage import open_store

HEAD = """
id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71
title: Section
"""
T0 = datetime(2024, 6, 3, tzinfo=UTC)
FAST = RetryPolicy(tries=2, backoff=0.01)


def book(notify: list[str], extra: str = "") -> HuntBook:
    alert = f"""\
  when: score >= 1
  title: "{{name}} on {{host}}"
  notify: {orjson.dumps(notify).decode()}
{extra}"""
    return parse_book(custom_type_book(HEAD, alert))


def procs(*hosts: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"process--{h}" for h in hosts],
            "type": ["process"] * len(hosts),
            "name": ["evil.exe"] * len(hosts),
            "host": list(hosts),
            "score": [3] * len(hosts),
        }
    )


def records(
    hunt: HuntBook, table: pd.DataFrame, start: datetime, hours: int = 2
) -> list[AlertRecord]:
    assert hunt.alert is not None
    info = RunInfo(
        flow_run_id="r",
        flow_run_url=None,
        window_start=start,
        window_stop=start + timedelta(hours=hours),
        evidence_uri="file:///e.parquet",
        raised_at=start + timedelta(hours=hours),
    )
    return build_alerts(hunt, alert_groups(matching_rows(table, hunt.alert), hunt.alert), info)


def run(
    store: LedgerStore,
    hunt: HuntBook,
    table: pd.DataFrame,
    start: datetime,
    *,
    run_id: str,
    dry_run: bool = False,
) -> SectionResult:
    assert hunt.alert is not None
    raised = records(hunt, table, start)
    return run_section(
        store,
        hunt.alert,
        raised,
        now=start + timedelta(hours=2),
        run_id=run_id,
        hunt_title=hunt.title,
        dry_run=dry_run,
        retry=FAST,
    )


def lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_rerun_and_overlapping_windows_notify_once(tmp_path: Path) -> None:
    sent = tmp_path / "sent.jsonl"
    hunt = book([f"jsonl://{sent}"])
    store = ledger_store(open_store(f"file://{tmp_path}/store"), str(hunt.id))
    first = run(store, hunt, procs("a", "b"), T0, run_id="r1")
    assert len(first.sent) == 2 and len(lines(sent)) == 2
    again = run(store, hunt, procs("a", "b"), T0, run_id="r2")  # the same window
    overlap = run(store, hunt, procs("b", "c"), T0 + timedelta(hours=1), run_id="r3")
    assert again.sent == {} and len(again.suppressed) == 2
    assert [r.alert_id for r in records(hunt, procs("c"), T0)] == list(overlap.sent)
    assert [line["alert"]["title"] for line in lines(sent)] == [
        "evil.exe on a",
        "evil.exe on b",
        "evil.exe on c",
    ]
    ledger = store.read()[0]
    key_b = records(hunt, procs("b"), T0)[0].alert_id
    entry = ledger.get(key_b)
    assert entry is not None and entry.count == 3 and entry.status == "suppressed"


def test_a_recurring_key_alerts_again_after_suppression_expires(tmp_path: Path) -> None:
    sent = tmp_path / "sent.jsonl"
    hunt = book([f"jsonl://{sent}"], "  suppress_for: 6h\n")
    store = ledger_store(open_store(f"file://{tmp_path}/store"), str(hunt.id))
    hourly = [
        run(store, hunt, procs("a"), T0 + timedelta(hours=h), run_id=f"r{h}") for h in range(9)
    ]
    assert [bool(result.sent) for result in hourly] == [True, *[False] * 5, True, False, False]
    # a rerun of the first window, long after: nothing new in it, so still quiet
    assert run(store, hunt, procs("a"), T0, run_id="late").sent == {}
    assert len(lines(sent)) == 2


def test_a_failed_delivery_stays_pending_and_is_retried_once(tmp_path: Path) -> None:
    sent, blocked = tmp_path / "sent.jsonl", tmp_path / "blocked"
    blocked.write_text("a file where the destination's folder should be")
    later = f"jsonl://{blocked}/sent.jsonl"
    hunt = book([f"jsonl://{sent}", later])
    store = ledger_store(open_store(f"file://{tmp_path}/store"), str(hunt.id))
    first = run(store, hunt, procs("a"), T0, run_id="r1")
    key = next(iter(first.pending))
    assert first.pending[key].startswith(f"{later}: cannot append alerts to {blocked}/sent.jsonl")
    # the next runs see nothing at all, yet retry the pending alert, only where it is owed
    second = run(store, hunt, procs(), T0 + timedelta(hours=1), run_id="r2")
    entry = store.read()[0].get(key)
    assert key in second.pending and entry is not None
    assert (entry.status, entry.attempts, entry.delivered_to) == ("pending", 2, [f"jsonl://{sent}"])
    blocked.unlink()
    third = run(store, hunt, procs(), T0 + timedelta(hours=2), run_id="r3")
    assert third.sent == {key: [later]} and third.pending == {}
    fourth = run(store, hunt, procs("a"), T0 + timedelta(hours=3), run_id="r4")
    assert fourth.sent == {}
    assert len(lines(sent)) == 1 and len(lines(blocked / "sent.jsonl")) == 1
    entry = store.read()[0].get(key)
    assert entry is not None and (entry.status, entry.attempts) == ("suppressed", 3)


def test_a_refused_webhook_says_why(tmp_path: Path, unused_port: int) -> None:
    hunt = book([f"json://127.0.0.1:{unused_port}/hook"])
    store = ledger_store(open_store(f"file://{tmp_path}/store"), str(hunt.id))
    result = run(store, hunt, procs("a"), T0, run_id="r1")
    (problem,) = result.pending.values()
    assert problem.startswith(
        f"json://127.0.0.1:{unused_port}/hook: json://127.0.0.1:{unused_port}/hook did not "
        "accept the notification: "
    )


def test_dry_run_sends_nothing_and_leaves_the_ledger(tmp_path: Path) -> None:
    sent = tmp_path / "sent.jsonl"
    hunt = book([f"jsonl://{sent}"])
    store = ledger_store(open_store(f"file://{tmp_path}/store"), str(hunt.id))
    run(store, hunt, procs("a"), T0, run_id="r1")
    before = store.store.get_bytes(store.key)
    dry = run(store, hunt, procs("a", "b"), T0 + timedelta(hours=1), run_id="r2", dry_run=True)
    assert list(dry.would_send.values()) == [[f"jsonl://{sent}"]]
    assert store.store.get_bytes(store.key) == before
    assert len(lines(sent)) == 1


def test_max_notifications_sends_a_digest_for_the_rest(tmp_path: Path) -> None:
    sent = tmp_path / "sent.jsonl"
    hunt = book([f"jsonl://{sent}"], "  max_notifications: 3\n")
    table = procs(*(f"h{i:02d}" for i in range(10)))
    messages = plan_messages(records(hunt, table, T0), 3, hunt.title)
    assert [m.digest for m in messages] == [False, False, True]
    assert messages[-1].title == "[digest] 8 more alert(s) from Section"
    store = ledger_store(open_store(f"file://{tmp_path}/store"), str(hunt.id))
    result = run(store, hunt, table, T0, run_id="r1")
    assert result.messages == 3 and result.digests == 1 and len(result.sent) == 10
    assert sum(line["digest"] for line in lines(sent)) == 8


def test_the_same_event_in_overlapping_windows_is_told_once_however_short_suppression_is(
    tmp_path: Path,
) -> None:
    sent = tmp_path / "sent.jsonl"
    hunt = book([f"jsonl://{sent}"], "  suppress_for: 1s\n")
    store = ledger_store(open_store(f"file://{tmp_path}/store"), str(hunt.id))
    event = procs("a").assign(last_observed=["2024-06-03T01:30:00Z"])
    first = run(store, hunt, event, T0, run_id="r1")  # window 00:00-02:00
    second = run(store, hunt, event, T0 + timedelta(hours=1), run_id="r2")  # 01:00-03:00
    newer = event.assign(last_observed=["2024-06-03T03:30:00Z"])
    third = run(store, hunt, newer, T0 + timedelta(hours=2), run_id="r3")  # 02:00-04:00
    assert (len(first.sent), len(second.sent), len(third.sent)) == (1, 0, 1)
    assert len(lines(sent)) == 2

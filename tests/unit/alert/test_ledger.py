"""The alert ledger: round trips, generations, conditional writes, and no silent reset."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntline.alert.ledger import Ledger, LedgerEntry, ledger_bytes, parse_ledger
from huntline.alert.ledger_store import LEDGER_KEY, ledger_store, update_ledger
from huntline.errors import AlertError
from huntline.storage import open_store

NOW = datetime(2024, 6, 3, tzinfo=UTC)


def entry(key: str, **changes: object) -> LedgerEntry:
    values: dict[str, object] = {
        "key": key,
        "status": "new",
        "title": f"t {key}",
        "severity": "high",
        "first_seen": NOW,
        "last_seen": NOW,
        "last_event": NOW,
        "alert": "{}",
        "last_run": "r1",
    }
    return LedgerEntry(**{**values, **changes})  # type: ignore[arg-type]


def test_round_trip_keeps_every_field_and_the_generation() -> None:
    ledger = Ledger()
    ledger.put(entry("a", destinations=["soc"], delivered_to=["soc"], notified_at=NOW))
    ledger.put(entry("b", status="pending", attempts=2, last_error="down", risk_score=80))
    again = parse_ledger(ledger_bytes(ledger, 7), "mem://ledger")
    assert again.generation == 7 and len(again) == 2
    assert again.get("a") == ledger.get("a") and again.get("b") == ledger.get("b")
    assert again.keys_in(("pending",)) == ["b"]


def test_untouched_rows_are_carried_over_and_touched_rows_replaced() -> None:
    ledger = Ledger()
    for key in "abc":
        ledger.put(entry(key))
    stored = parse_ledger(ledger_bytes(ledger, 1), "m")
    changed = stored.get("b")
    assert changed is not None
    changed.count = 5
    stored.put(changed)
    stored.put(entry("d"))
    final = parse_ledger(ledger_bytes(stored, 2), "m")
    assert sorted(final.keys_in()) == ["a", "b", "c", "d"]
    assert final.get("b").count == 5 and final.get("a").count == 1  # type: ignore[union-attr]


def test_a_corrupt_ledger_fails_and_is_left_as_it_is(tmp_path: Path) -> None:
    store = ledger_store(open_store(f"file://{tmp_path}"), "hunt")
    path = tmp_path / "hunt" / LEDGER_KEY
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not parquet")
    with pytest.raises(AlertError) as caught:
        update_ledger(store, lambda ledger: ledger.put(entry("a")))
    assert caught.value.message.startswith(f"the alert ledger {store.uri} is unreadable (")
    assert caught.value.message.endswith("); nothing was sent")
    assert path.read_bytes() == b"not parquet"


def test_a_stale_write_is_refused(tmp_path: Path) -> None:
    store = ledger_store(open_store(f"file://{tmp_path}"), "hunt")
    update_ledger(store, lambda ledger: ledger.put(entry("a")))
    _, token = store.read()
    update_ledger(store, lambda ledger: ledger.put(entry("b")))
    assert not store.write(ledger_bytes(Ledger(), 99), token)
    assert sorted(store.read()[0].keys_in()) == ["a", "b"]


# Parses a ledger, then exits the way `huntline alerts list` does, but with the worst timing for
# an Arrow thread that still needs the GIL once parse_ledger has returned: it cannot force a
# hand-over (switch interval), and finalization hands the GIL out (a sleeping __del__) only after
# threads are no longer allowed to take it. Such a thread then aborts the process (SIGABRT).
_PARSE_AT_EXIT = """
import sys, time
from datetime import UTC, datetime
from huntline.alert.ledger import Ledger, LedgerEntry, ledger_bytes, parse_ledger

class HandsOutTheGilWhileFinalizing:
    def __del__(self) -> None:
        for _ in range(20):
            time.sleep(0.005)

keep = HandsOutTheGilWhileFinalizing()
now = datetime(2024, 6, 3, tzinfo=UTC)
ledger = Ledger()
ledger.put(LedgerEntry("k", "new", "t", "high", now, now, now, "{}", "r1"))
data = ledger_bytes(ledger, 1)
sys.setswitchinterval(100)
for _ in range(50):
    parse_ledger(data, "mem://ledger")
spin = time.perf_counter() + 0.05
while time.perf_counter() < spin:
    pass
print("parsed")
"""


def test_no_arrow_thread_outlives_a_parse_holding_python_memory() -> None:
    """The flaky SIGABRT ("terminate called without an active exception") of `huntline alerts
    list` after it printed its JSON. A race, so the test is a net rather than a proof: with the
    ledger read from io.BytesIO, this test failed 5 times in 6 (a child aborting in roughly one
    run in six); with Arrow-owned memory no child has aborted."""
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _PARSE_AT_EXIT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(12)
    ]
    results = [(run.wait(60), *run.communicate()) for run in runs]
    failed = [(code, err) for code, out, err in results if (code, out) != (0, "parsed\n")]
    assert not failed, f"{len(failed)} of {len(runs)} failed: {failed[0]}"

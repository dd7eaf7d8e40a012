"""Alert delivery end to end: ``huntline run`` against the real Prefect server, with a real
webhook receiver (apprise ``json://``) and a real SMTP server (apprise ``mailto://``).

The book fetches the sample bundle (no analytics step, so no Docker) and alerts on shells.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from receivers import smtp_receiver, webhook_receiver

from huntline.alert.ledger_store import ledger_store
from huntline.prefect.ledger_limit import limit_name
from huntline.storage import open_store

pytestmark = [pytest.mark.server]
HUNT_ID = "7f1c2b1e-8a8d-4c52-9f0e-3a7c5b1d2e90"
DAY = ("2024-06-03T00:00:00Z", "2024-06-04T00:00:00Z")


def write_book(path: Path, repo_root: Path, notify: list[str], extra: str = "") -> str:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    path.write_text(
        f"""id: {HUNT_ID}
title: Shells on endpoints
steps:
  - get: procs
    entity: process
    from: file://{bundle}
    where: "[process:pid > 0]"
alert:
  on: procs
  when: name in ['cmd.exe', 'powershell.exe', 'mimi.exe']
  severity: high
  title: "{{name}} (pid {{pid}})"
  notify: {json.dumps(notify)}
{extra}"""
    )
    return str(path)


def run_json(huntline, book: str, store: Path, window=DAY, *more: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    result = huntline(
        "run",
        book,
        "--json",
        "--storage",
        f"file://{store}",
        "--start",
        window[0],
        "--stop",
        window[1],
        *more,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_same_book_twice_posts_and_mails_once(
    huntline, repo_root: Path, prefect_server, tmp_path: Path, unused_port: int
) -> None:
    with webhook_receiver() as hook, smtp_receiver(unused_port) as mail:
        book = write_book(tmp_path / "b.yaml", repo_root, [hook.url, mail.url])
        first = run_json(huntline, book, tmp_path / "store")
        count = first["alert_count"]
        assert count >= 3 and len(first["delivery"]["sent"]) == count
        assert sorted(hook.keys()) == sorted(a["alert_id"] for a in first["alerts"])
        assert len(mail.messages) == count
        assert mail.messages[0]["To"] == "soc@example.org"
        second = run_json(huntline, book, tmp_path / "store")
        assert second["alert_count"] == count and second["delivery"]["sent"] == {}
        assert len(second["delivery"]["suppressed"]) == count
        assert len(hook.posts) == count and len(mail.messages) == count
    post = hook.posts[0]
    assert post["title"].startswith("[high] ")
    assert "/runs/flow-run/" in post["message"]
    assert "evidence: file://" in post["message"]
    limits = httpx.post(
        f"{prefect_server.api_url}/v2/concurrency_limits/filter", json={}, timeout=10
    ).json()
    assert limit_name(HUNT_ID) in {limit["name"] for limit in limits}


def test_overlapping_windows_post_no_duplicate(
    huntline, repo_root: Path, prefect_server, tmp_path: Path
) -> None:
    with webhook_receiver() as hook:
        book = write_book(tmp_path / "b.yaml", repo_root, [hook.url])
        early = run_json(
            huntline, book, tmp_path / "s", ("2024-06-03T00:00:00Z", "2024-06-03T13:00:00Z")
        )
        late = run_json(
            huntline, book, tmp_path / "s", ("2024-06-03T09:00:00Z", "2024-06-04T00:00:00Z")
        )
    early_keys = {a["alert_id"] for a in early["alerts"]}
    late_keys = {a["alert_id"] for a in late["alerts"]}
    assert early_keys & late_keys, "the windows overlap on some alerts"
    assert len(hook.keys()) == len(set(hook.keys())) == len(early_keys | late_keys)


def test_after_suppression_a_recurring_key_alerts_again(
    huntline, repo_root: Path, prefect_server, tmp_path: Path
) -> None:
    extra = "  group_by: [name]\n  suppress_for: 1s\n"
    morning = ("2024-06-03T00:00:00Z", "2024-06-03T12:00:00Z")  # cmd.exe at 09:25 and 10:16
    with webhook_receiver() as hook:
        book = write_book(tmp_path / "b.yaml", repo_root, [hook.url], extra)
        first = run_json(huntline, book, tmp_path / "s", morning)
        time.sleep(1.5)
        day = run_json(huntline, book, tmp_path / "s")  # cmd.exe again until 16:13, and others
        again = run_json(huntline, book, tmp_path / "s")  # the same day: no newer evidence
    (cmd,) = [a["alert_id"] for a in first["alerts"]]
    assert [a["group"] for a in first["alerts"]] == [{"name": "cmd.exe"}]
    assert cmd in day["delivery"]["sent"] and len(day["delivery"]["sent"]) == 3
    assert again["delivery"]["sent"] == {}
    assert sorted(hook.keys()) == sorted([cmd, *day["delivery"]["sent"]])


def test_a_down_webhook_leaves_alerts_pending_and_the_next_run_sends_them_once(
    huntline, repo_root: Path, prefect_server, tmp_path: Path, unused_port: int
) -> None:
    url = f"json://127.0.0.1:{unused_port}/hook"
    book = write_book(tmp_path / "b.yaml", repo_root, [url])
    down = huntline(
        "run", book, "--storage", f"file://{tmp_path / 's'}", "--start", DAY[0], "--stop", DAY[1]
    )
    assert down.returncode == 0, down.stderr
    assert "stay pending for the next run" in down.stderr + down.stdout
    ledger = ledger_store(open_store(f"file://{tmp_path / 's'}"), HUNT_ID).read()[0]
    pending = ledger.keys_in(("pending",))
    assert pending and all(ledger.get(k).attempts == 1 for k in pending)  # type: ignore[union-attr]
    storage = f"file://{tmp_path / 's'}"
    listed = huntline("alerts", "list", book, "--status", "pending", "--json", "--storage", storage)
    assert listed.returncode == 0, listed.stderr
    assert sorted(row["key"] for row in json.loads(listed.stdout)) == sorted(pending)
    shown = huntline("alerts", "show", pending[0][:10], "--storage", storage)
    assert shown.returncode == 0, shown.stderr
    assert f"  key: {pending[0]} (hunt {HUNT_ID})" in shown.stdout
    assert "  status: pending" in shown.stdout and "Evidence (1 rows)" in shown.stdout
    table = huntline("alerts", "list", "--storage", storage)
    assert table.returncode == 0 and "pending" in table.stdout
    with webhook_receiver(unused_port) as hook:
        retried = run_json(huntline, book, tmp_path / "s")
        quiet = run_json(huntline, book, tmp_path / "s")
    assert sorted(hook.keys()) == sorted(pending), "each pending alert sent exactly once"
    assert retried["delivery"]["pending"] == {} and quiet["delivery"]["sent"] == {}
    manifest = json.loads(Path(retried["manifest_uri"].removeprefix("file://")).read_text())
    assert sorted(manifest["alerts"]["delivery"]["sent"]) == sorted(pending)
    ledger = ledger_store(open_store(f"file://{tmp_path / 's'}"), HUNT_ID).read()[0]
    assert ledger.keys_in(("pending", "failed")) == []


def test_dry_run_sends_nothing_and_leaves_the_ledger(
    huntline, repo_root: Path, prefect_server, tmp_path: Path
) -> None:
    with webhook_receiver() as hook:
        book = write_book(tmp_path / "b.yaml", repo_root, [hook.url])
        dry = run_json(huntline, book, tmp_path / "s", DAY, "--dry-run")
        assert hook.posts == []
        assert not (tmp_path / "s" / HUNT_ID / "ledger").exists()
        assert set(dry["delivery"]["would_send"]) == {a["alert_id"] for a in dry["alerts"]}
        shown = huntline(
            "run",
            book,
            "--dry-run",
            "--storage",
            f"file://{tmp_path / 's'}",
            "--start",
            DAY[0],
            "--stop",
            DAY[1],
        )
        assert hook.posts == [] and shown.returncode == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if "would send to" in line]
    assert len(lines) == dry["alert_count"]
    assert all(f"127.0.0.1:{hook.port}/hook" in line for line in lines)


def test_a_named_destination_with_its_url_in_a_prefect_secret(
    huntline, repo_root: Path, prefect_server, tmp_path: Path
) -> None:
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL, temporary_settings

    destinations = tmp_path / "destinations.yaml"
    destinations.write_text("destinations:\n  soc:\n    url: prefect-secret://soc-hook-url\n")
    env = {"HUNTLINE_DESTINATIONS": str(destinations)}
    with webhook_receiver() as hook:
        secret_url = f"{hook.url}/t0ken-s3cret"
        with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
            Secret(value=secret_url).save("soc-hook-url", overwrite=True)
        book = write_book(tmp_path / "b.yaml", repo_root, ["soc"])
        store = tmp_path / "s"
        result = huntline(
            "run",
            book,
            "--json",
            "--storage",
            f"file://{store}",
            "--start",
            DAY[0],
            "--stop",
            DAY[1],
            env=env,
        )
        assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert len(hook.posts) == summary["alert_count"] >= 3
    assert set(map(tuple, summary["delivery"]["sent"].values())) == {("soc",)}
    ledger = pq.read_table(store / HUNT_ID / "ledger" / "ledger.parquet").to_pylist()
    assert {tuple(row["delivered_to"]) for row in ledger} == {("soc",)}
    for text in (result.stdout, result.stderr, str(ledger)):
        assert "t0ken-s3cret" not in text


def test_two_runs_at_once_post_each_alert_once(
    huntline, repo_root: Path, prefect_server, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with webhook_receiver() as hook:
        book = write_book(tmp_path / "b.yaml", repo_root, [hook.url])
        args = ("run", book, "--json", "--storage", f"file://{tmp_path / 's'}")
        window = ("--start", DAY[0], "--stop", DAY[1])
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: huntline(*args, *window), range(2)))
    for result in results:
        assert result.returncode == 0, result.stderr
    summaries = [json.loads(result.stdout) for result in results]
    keys = {a["alert_id"] for a in summaries[0]["alerts"]}
    assert sorted(hook.keys()) == sorted(keys), "every alert posted once, by one of the runs"
    sent = [set(summary["delivery"]["sent"]) for summary in summaries]
    assert sent[0] | sent[1] == keys and not sent[0] & sent[1]


def test_a_corrupt_ledger_fails_the_run_before_anything_is_sent(
    huntline, repo_root: Path, prefect_server, tmp_path: Path
) -> None:
    ledger = tmp_path / "s" / HUNT_ID / "ledger" / "ledger.parquet"
    ledger.parent.mkdir(parents=True)
    ledger.write_bytes(b"PAR1 torn write")
    with webhook_receiver() as hook:
        book = write_book(tmp_path / "b.yaml", repo_root, [hook.url])
        result = huntline(
            "run",
            book,
            "--storage",
            f"file://{tmp_path / 's'}",
            "--start",
            DAY[0],
            "--stop",
            DAY[1],
        )
    assert result.returncode == 1
    assert f"the alert ledger {ledger.as_uri()} is unreadable (" in result.stderr
    assert "); nothing was sent" in result.stderr and "Traceback" not in result.stderr
    assert hook.posts == [] and ledger.read_bytes() == b"PAR1 torn write"

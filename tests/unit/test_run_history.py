"""``huntline runs list|show``: past runs read back from object storage, file:// and S3 alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntline import cli
from huntline.book import GetStep
from huntline.book.loader import read_book
from huntline.errors import StorageError
from huntline.run_history import find_run, list_runs
from huntline.steps import finish
from huntline.storage import open_store
from huntline.window import Window

BUNDLE = Path(__file__).parents[1] / "files" / "fetch" / "processes.json"
BOOK = f"""
id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71
title: Whoami [lab]
steps:
  - get: procs
    entity: process
    from: {BUNDLE.as_uri()}
alert:
  on: procs
  when: name == 'whoami'
  title: "whoami [pid {{pid}}]"
"""
WINDOW = Window(datetime(2021, 5, 1, tzinfo=UTC), datetime(2021, 5, 4, tzinfo=UTC))
EMPTY = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))


@pytest.fixture(params=["file", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return (tmp_path / "store").as_uri()
    return f"s3://{request.getfixturevalue('s3_bucket')}/hunts"


def record_run(storage: str, book_path: Path, run_id: str, window: Window) -> str:
    """One run through the plain step functions, as the flow does it, ending in a manifest."""
    loaded = read_book(book_path)
    book = loaded.book
    step = book.steps[0]
    assert isinstance(step, GetStep)
    context = finish.RunContext(
        storage=storage,
        hunt_id=str(book.id),
        run_date="2026-12-02",
        flow_run_id=run_id,
        flow_run_url=f"http://127.0.0.1:4200/runs/flow-run/{run_id}",
    )
    fetched = finish.fetch_step(context, "00_get", step, window)
    alerts = finish.alert_step(context, book, fetched.tables["procs"], window.stop, window)
    return finish.write_manifest(
        context,
        book=loaded,
        windows={"00_get": window},
        steps=[fetched],
        alerts=alerts,
        status="completed",
    )


def test_runs_are_listed_and_shown_from_storage_alone(
    storage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book_path = tmp_path / "whoami.yaml"
    book_path.write_text(BOOK)
    manifest_uri = record_run(storage, book_path, "aaaa1111-found", WINDOW)
    record_run(storage, book_path, "bbbb2222-empty", EMPTY)

    store = open_store(storage)
    records = list_runs(store, "5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71")
    assert [(r.run_id, r.status, r.rows, r.alert_count) for r in records] == [
        ("bbbb2222-empty", "completed", {"procs": 0}, 0),
        ("aaaa1111-found", "completed", {"procs": 2}, 1),
    ]
    assert records[1].window == "2021-05-01T00:00:00Z – 2021-05-04T00:00:00Z"
    assert records[0].warnings == [
        "00_get: procs is empty: no process from "
        f"{BUNDLE.as_uri()} in the window 2024-01-01T00:00:00Z – 2024-01-02T00:00:00Z; the "
        f"bundle {BUNDLE.as_uri()} spans 2021-05-01T20:20:39Z – 2021-05-03T10:05:00Z, outside "
        "the window: pass --start/--stop to cover it"
    ]
    assert list_runs(store, "00000000-0000-0000-0000-000000000000") == []

    assert cli.main(["runs", "list", str(book_path), "--storage", storage, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["run_id"], r["title"], r["alert_count"]) for r in listed] == [
        ("bbbb2222-empty", "Whoami [lab]", 0),
        ("aaaa1111-found", "Whoami [lab]", 1),
    ]

    assert cli.main(["runs", "list", "--storage", storage]) == 0
    table = capsys.readouterr().out
    assert "Whoami [lab]" in table  # brackets survive rich markup
    assert "aaaa1111-found" in table and "procs 2" in table
    assert "completed, 1 warning(s)" in table

    assert cli.main(["runs", "show", "aaaa", "--storage", storage]) == 0
    lines = capsys.readouterr().out.splitlines()
    prefix = manifest_uri.removesuffix("manifest.json")
    when = lines[1].removeprefix("  when: ")
    assert datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ")
    assert lines == [
        "run aaaa1111-found of Whoami [lab] (5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71)",
        f"  when: {when}",
        "  state: completed",
        "  window: 2021-05-01T00:00:00Z – 2021-05-04T00:00:00Z",
        f"  book: {book_path}",
        "  alerts: 1",
        "",
        "Tables and artifacts",
        f"  00_get procs (2 rows): {prefix}00_get/procs.parquet",
        f"  alert table: {prefix}alert/alerts.parquet",
        f"  alert evidence: {prefix}alert/evidence.parquet",
        f"  alert jsonl: {prefix}alert/alerts.jsonl",
        f"  manifest: {manifest_uri}",
        "",
        "Flow run: http://127.0.0.1:4200/runs/flow-run/aaaa1111-found",
    ]

    assert cli.main(["runs", "show", "bbbb2222-empty", "--storage", storage, "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["flow_run_id"] == "bbbb2222-empty"
    assert manifest["manifest_uri"].endswith("bbbb2222-empty/manifest.json")


def test_an_unknown_or_ambiguous_run_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = (tmp_path / "store").as_uri()
    book_path = tmp_path / "whoami.yaml"
    book_path.write_text(BOOK)
    record_run(storage, book_path, "cccc-1", EMPTY)
    record_run(storage, book_path, "cccc-2", EMPTY)
    with pytest.raises(StorageError) as caught:
        find_run(open_store(storage), "cccc")
    assert str(caught.value) == (
        f"2 runs in {storage} with an id starting 'cccc'\n  hint: give more of the id: "
        "cccc-1, cccc-2"
    )
    assert cli.main(["runs", "show", "dddd", "--storage", storage]) == 1
    assert capsys.readouterr().err == (
        f"error: no run in {storage} with an id starting 'dddd'\n"
        "  hint: huntline runs list --storage ... shows the runs and their ids\n"
    )


def test_a_damaged_manifest_does_not_hide_the_other_runs(tmp_path: Path) -> None:
    storage = (tmp_path / "store").as_uri()
    book_path = tmp_path / "whoami.yaml"
    book_path.write_text(BOOK)
    record_run(storage, book_path, "good", EMPTY)
    store = open_store(storage)
    store.put_bytes("5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71/2026-12-01/bad/manifest.json", b"{")
    store.put_bytes("5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71/ledger/state.json", b"{}")
    records = list_runs(store)
    assert [(r.run_id, r.status) for r in records] == [("good", "completed"), ("bad", "unreadable")]

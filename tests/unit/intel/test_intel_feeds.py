"""Feed readers on files: STIX bundles, CSV and plain lists; the snapshot diff; the event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from huntline.errors import IntelError, StorageError
from huntline.intel import FeedConfig, Indicator, intel_event, load_feeds, read_feed, select_feeds
from huntline.intel.model import infer_type
from huntline.intel.snapshot import load_snapshot, read_indicators, record_pull
from huntline.intel.stix import pattern_indicators
from huntline.intel.watch import pull_feed
from huntline.storage import open_store

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def bundle(*patterns: str) -> str:
    objects = [
        {"type": "indicator", "id": f"indicator--{i}", "pattern": p, "pattern_type": "stix"}
        for i, p in enumerate(patterns)
    ]
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects})


def test_pattern_comparisons_become_typed_indicators() -> None:
    pattern = (
        "[ipv4-addr:value = '203.0.113.7'] OR [file:hashes.'SHA-256' = '"
        + "a" * 64
        + "'] OR [file:name IN ('mimi.exe', 'it\\'s.exe')] OR [process:pid = 4]"
        " OR [file:hashes.MD5 = '" + "b" * 32 + "']"
    )
    assert pattern_indicators(pattern) == [
        ("ipv4", "203.0.113.7"),
        ("sha256", "a" * 64),
        ("file_name", "mimi.exe"),
        ("file_name", "it's.exe"),
        ("md5", "b" * 32),
    ]


def test_sample_feed_of_the_repository(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_root)
    feeds = load_feeds()
    indicators = read_feed("sample", feeds.feeds["sample"])
    assert sorted((i.type, i.value) for i in indicators) == [
        ("domain", "updates.example-cdn.net"),
        ("file_name", "mimi.exe"),
        ("ipv4", "198.51.100.23"),
    ]
    assert {i.feed for i in indicators} == {"sample"}


def test_revoked_and_non_stix_indicators_are_skipped(tmp_path: Path) -> None:
    data = json.loads(bundle("[ipv4-addr:value = '192.0.2.1']", "[ipv4-addr:value = '192.0.2.2']"))
    data["objects"][1]["revoked"] = True
    data["objects"].append({"type": "indicator", "pattern": "title: x", "pattern_type": "sigma"})
    (tmp_path / "b.json").write_text(json.dumps(data))
    found = read_feed("f", FeedConfig(kind="stix", path=str(tmp_path / "b.json")))
    assert [(i.type, i.value) for i in found] == [("ipv4", "192.0.2.1")]


def test_csv_and_list_feeds(tmp_path: Path) -> None:
    (tmp_path / "iocs.csv").write_text(
        "# exported by a vendor\n#\ntype,value,comment\nipv4,192.0.2.9,c2\nsha1,"
        + "c" * 40
        + ",dropper\n"
    )
    (tmp_path / "iocs.txt").write_text(
        "# plain list\n192.0.2.10\n\nevil.example.org\nhttp://evil.example.org/x\n" + "d" * 64
    )
    csv_found = read_feed("c", FeedConfig(kind="csv", path=str(tmp_path / "iocs.csv")))
    list_found = read_feed("l", FeedConfig(kind="list", path=str(tmp_path / "iocs.txt")))
    assert [(i.type, i.value) for i in csv_found] == [("ipv4", "192.0.2.9"), ("sha1", "c" * 40)]
    assert [(i.type, i.value) for i in list_found] == [
        ("ipv4", "192.0.2.10"),
        ("domain", "evil.example.org"),
        ("url", "http://evil.example.org/x"),
        ("sha256", "d" * 64),
    ]


def test_a_value_of_unknown_type_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "iocs.txt"
    path.write_text("192.0.2.10\nnot an indicator\n")
    with pytest.raises(IntelError) as caught:
        read_feed("l", FeedConfig(kind="list", path=str(path)))
    assert caught.value.message == (
        f"intel feed 'l': {path}:2: cannot tell the type of 'not an indicator'"
    )


def test_types_are_inferred() -> None:
    assert [infer_type(v) for v in ("2001:db8::1", "a@b.example", "x", "e" * 40)] == [
        "ipv6",
        "email",
        None,
        "sha1",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not JSON"),
        ('{"type": "report"}', "is not a STIX bundle"),
        ('{"type": "bundle", "objects": 3}', "the bundle's 'objects' is not a list"),
    ],
)
def test_malformed_bundles_are_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "b.json").write_text(text)
    with pytest.raises(IntelError, match=message):
        read_feed("f", FeedConfig(kind="stix", path=str(tmp_path / "b.json")))


def test_feeds_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "intel.yaml"
    path.write_text(
        "feeds:\n  Bad Name:\n    kind: stix\n    path: x\n  t:\n    kind: taxii\n    path: y\n"
    )
    with pytest.raises(IntelError) as caught:
        load_feeds(path)
    assert str(caught.value) == (
        f"{path}: invalid intel feeds file\n"
        f"  {path}:6 feeds.t: a taxii feed needs url: (the collection's URL)"
    )
    path.write_text("feeds:\n  a:\n    kind: rss\n    url: http://x\n  a:\n    kind: stix\n")
    with pytest.raises(IntelError) as caught:
        load_feeds(path)
    assert caught.value.context["problems"] == [
        f"{path}:3 feeds.a.kind: unknown intel feed kind 'rss'; known: stix, taxii, csv, list",
        f"{path}:5 feeds.a: duplicate key 'a'",
    ]
    path.write_text("feeds:\n  a:\n    kind: stix\n    url: http://x\n")
    with pytest.raises(IntelError) as unknown:
        select_feeds(load_feeds(path), ["b"])
    assert str(unknown.value) == "unknown intel feed 'b'\n  hint: the feeds are: a"
    with pytest.raises(IntelError, match="cannot read the intel feeds file"):
        load_feeds(tmp_path / "missing.yaml")


def test_pull_diffs_against_the_snapshot_and_keeps_it_on_failure(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    feed_file = tmp_path / "b.json"
    config = FeedConfig(kind="stix", path=str(feed_file))
    feed_file.write_text(bundle("[ipv4-addr:value = '192.0.2.1']"))
    first = pull_feed("f", config, store, NOW)
    assert (first.status, first.new, first.total) == ("new", 1, 1)
    assert first.event is not None and first.event.payload["indicators"] == {"ipv4": ["192.0.2.1"]}
    again = pull_feed("f", config, store, NOW)
    assert (again.status, again.event) == ("unchanged", None)

    feed_file.write_text("{broken")
    with pytest.raises(IntelError):
        pull_feed("f", config, store, NOW)
    assert load_snapshot(store, "f") == {("ipv4", "192.0.2.1")}

    feed_file.write_text(
        bundle("[ipv4-addr:value = '192.0.2.1']", "[domain-name:value = 'evil.example']")
    )
    later = pull_feed("f", config, store, datetime(2026, 12, 2, 13, tzinfo=UTC))
    assert (later.status, later.new, later.total) == ("new", 1, 2)
    assert later.new_uri is not None
    assert [(i.type, i.value) for i in read_indicators(store, later.new_uri)] == [
        ("domain", "evil.example")
    ]
    assert load_snapshot(store, "f") == {("ipv4", "192.0.2.1"), ("domain", "evil.example")}


def test_overlapping_pulls_report_each_indicator_once(tmp_path: Path) -> None:
    """Two pulls of one feed at once: the snapshot moves by compare-and-swap, so the pull that
    loses the race diffs again against the winner's snapshot and finds nothing new."""
    import threading

    store = open_store(str(tmp_path / "store"))
    current = [Indicator(type="ipv4", value=f"192.0.2.{i}", feed="f") for i in range(50)]
    found: list[int] = []
    pulls = [
        threading.Thread(
            target=lambda minute=minute: found.append(
                len(record_pull(store, "f", current, NOW.replace(minute=minute))[0])
            )
        )
        for minute in range(4)
    ]
    for pull in pulls:
        pull.start()
    for pull in pulls:
        pull.join()
    assert sorted(found) == [0, 0, 0, 50]
    assert len(load_snapshot(store, "f")) == 50


def test_a_corrupt_snapshot_is_an_error_not_an_empty_one(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    store.put_bytes("intel/f/snapshot.parquet", b"not parquet")
    with pytest.raises(StorageError) as caught:
        load_snapshot(store, "f")
    uri = store.uri("intel/f/snapshot.parquet")
    assert caught.value.message.startswith(f"the intel snapshot {uri} is not readable: ")
    assert caught.value.hint == (
        "delete it to start afresh (the next pull reports every indicator as new)"
    )


def test_large_updates_travel_as_a_parquet_reference() -> None:
    from huntline.intel import Indicator
    from huntline.intel.events import PAYLOAD_LIMIT

    many = [
        Indicator(type="ipv4", value=f"10.0.{i // 256}.{i % 256}", feed="f")
        for i in range(PAYLOAD_LIMIT + 1)
    ]
    event = intel_event("f", many, "file:///s/new.parquet")
    assert event.resource["prefect.resource.id"] == "huntline.intel.f"
    assert event.payload == {
        "feed": "f",
        "count": PAYLOAD_LIMIT + 1,
        "indicators": {},
        "truncated": True,
        "parquet": "file:///s/new.parquet",
    }


def test_a_feed_is_read_up_to_a_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22 (what a feed writes is untrusted): an endless answer or /dev/zero used to be
    read whole into memory; at most MAX_FEED_BYTES are read, then the pull fails."""
    from huntline.errors import IntelError
    from huntline.intel import source
    from huntline.intel.model import FeedConfig

    monkeypatch.setattr(source, "MAX_FEED_BYTES", 2**20)
    config = FeedConfig.model_validate({"kind": "list", "type": "ipv4", "path": "/dev/zero"})
    with pytest.raises(IntelError) as caught:
        source.read_source("zero", config)
    assert str(caught.value) == (
        "intel feed 'zero': /dev/zero holds more than 1 MiB\n"
        "  hint: split the feed, or point at a smaller export of it"
    )

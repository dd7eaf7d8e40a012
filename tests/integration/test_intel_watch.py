"""The intel watcher against real servers: a TAXII 2.1 server, an HTTP server, files, and the
session's Prefect server, which receives the huntline.intel.updated events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from taxii21 import TaxiiState, indicator, running_taxii_server

from huntline.errors import IntelError
from huntline.intel import FeedConfig, read_feed
from huntline.intel.snapshot import load_snapshot
from huntline.storage import open_store

pytestmark = pytest.mark.server


@pytest.fixture
def taxii() -> Iterator[tuple[TaxiiState, str]]:
    state = TaxiiState(user=("hunter", "s3cret"))
    with running_taxii_server(state) as url:
        yield state, url


@pytest.fixture
def taxii_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TAXII_USER", "hunter")
    monkeypatch.setenv("TEST_TAXII_PASSWORD", "s3cret")


def taxii_config(url: str) -> FeedConfig:
    return FeedConfig(
        kind="taxii", url=url, username_env="TEST_TAXII_USER", password_env="TEST_TAXII_PASSWORD"
    )


def test_taxii_collection_is_read_page_by_page(
    taxii: tuple[TaxiiState, str], taxii_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = taxii
    monkeypatch.setattr("huntline.intel.taxii.PAGE_SIZE", 2)
    state.objects = [indicator(f"[ipv4-addr:value = '192.0.2.{n}']") for n in range(5)]
    state.objects.append({"type": "malware", "id": "malware--1", "name": "x"})
    found = read_feed("partner", taxii_config(url))
    assert sorted(i.value for i in found) == [f"192.0.2.{n}" for n in range(5)]
    assert sum("/objects/" in path for path in state.requests) == 3


def test_a_taxii_collection_is_read_up_to_a_bound(
    taxii: tuple[TaxiiState, str], taxii_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22 (what a feed writes is untrusted): every page was kept, however many the server
    sent; past MAX_OBJECTS the pull fails instead of filling memory."""
    state, url = taxii
    monkeypatch.setattr("huntline.intel.taxii.PAGE_SIZE", 2)
    monkeypatch.setattr("huntline.intel.taxii.MAX_OBJECTS", 3)
    state.objects = [indicator(f"[ipv4-addr:value = '192.0.2.{n}']") for n in range(9)]
    with pytest.raises(IntelError) as caught:
        read_feed("partner", taxii_config(url))
    assert str(caught.value) == (
        f"intel feed 'partner': the TAXII collection {url} holds more than 3 objects\n"
        "  hint: point at a collection of indicators, or filter it on the server"
    )
    assert sum("/objects/" in path for path in state.requests) == 2


def test_taxii_errors_name_the_feed_and_hide_credentials(
    taxii: tuple[TaxiiState, str], taxii_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = taxii
    monkeypatch.setenv("TEST_TAXII_PASSWORD", "wrong")
    with pytest.raises(IntelError) as unauthorised:
        read_feed("partner", taxii_config(url))
    assert unauthorised.value.message == (
        f"intel feed 'partner': the TAXII server at {url} answered HTTP 401"
    )
    assert "wrong" not in str(unauthorised.value)
    monkeypatch.setenv("TEST_TAXII_PASSWORD", "s3cret")
    state.body = b'{"more": false, "objects": 7}'
    with pytest.raises(IntelError, match="answered an envelope without an objects list"):
        read_feed("partner", taxii_config(url))
    state.body = b"<html>"
    with pytest.raises(IntelError, match="cannot read the TAXII collection"):
        read_feed("partner", taxii_config(url))
    monkeypatch.delenv("TEST_TAXII_USER")
    with pytest.raises(IntelError, match="the environment variable TEST_TAXII_USER is not set"):
        read_feed("partner", taxii_config(url))


def test_unreachable_url_feed(unused_port: int) -> None:
    with pytest.raises(IntelError) as caught:
        read_feed("gone", FeedConfig(kind="stix", url=f"http://127.0.0.1:{unused_port}/b.json"))
    assert caught.value.message.startswith(
        f"intel feed 'gone': cannot reach http://127.0.0.1:{unused_port}/b.json:"
    )


def _events(api_url: str, resource: str) -> list[dict[str, Any]]:
    since = datetime(2020, 1, 1, tzinfo=UTC).isoformat()
    response = httpx.post(
        f"{api_url}/events/filter",
        json={
            "filter": {
                "occurred": {"since": since},
                "event": {"name": ["huntline.intel.updated"]},
                "resource": {"id": [resource]},
            },
            "limit": 50,
        },
    )
    response.raise_for_status()
    return list(response.json()["events"])


def test_watch_flow_pulls_every_feed_and_emits_events(
    prefect_server: Any,
    taxii: tuple[TaxiiState, str],
    taxii_env: None,
    bundle_server: str,
    tmp_path: Path,
    repo_root: Path,
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from huntline.prefect.intel_flow import intel_watch

    state, url = taxii
    state.objects = [indicator("[domain-name:value = 'c2.example.net']")]
    (tmp_path / "list.txt").write_text("192.0.2.44\n")
    tag = f"t{int(time.time() * 1000)}"
    feeds = tmp_path / "intel.yaml"
    feeds.write_text(
        json.dumps(
            {
                "feeds": {
                    f"{tag}-taxii": {
                        "kind": "taxii",
                        "url": url,
                        "username_env": "TEST_TAXII_USER",
                        "password_env": "TEST_TAXII_PASSWORD",
                    },
                    f"{tag}-http": {"kind": "stix", "url": f"{bundle_server}/malformed.json"},
                    f"{tag}-file": {"kind": "list", "path": str(tmp_path / "list.txt")},
                    f"{tag}-repo": {
                        "kind": "stix",
                        "path": str(repo_root / "hunts/data/intel/sample_indicators.json"),
                    },
                }
            }
        )
    )
    storage = str(tmp_path / "store")
    with (
        temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}),
        pytest.raises(IntelError) as caught,
    ):
        intel_watch(feeds_file=str(feeds), storage=storage)
    assert caught.value.message.startswith(
        f"1 of 4 intel feed(s) failed; the others were pulled: {tag}-http: intel feed "
        f"'{tag}-http': {bundle_server}/malformed.json is not JSON"
    )
    store = open_store(storage)
    assert load_snapshot(store, f"{tag}-taxii") == {("domain", "c2.example.net")}
    assert load_snapshot(store, f"{tag}-file") == {("ipv4", "192.0.2.44")}
    assert not store.exists(f"intel/{tag}-http/snapshot.parquet")

    deadline = time.monotonic() + 30
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not events:
        events = _events(prefect_server.api_url, f"huntline.intel.{tag}-taxii")
        time.sleep(0.5)
    assert len(events) == 1
    payload = events[0]["payload"]
    assert payload["indicators"] == {"domain": ["c2.example.net"]}
    assert payload["count"] == 1 and payload["parquet"].endswith(".parquet")

    # The next pull finds only what the TAXII server added since.
    state.objects.append(indicator("[ipv4-addr:value = '203.0.113.9']"))
    feeds.write_text(
        feeds.read_text().replace(
            f"{bundle_server}/malformed.json", f"{bundle_server}/sample_endpoint_bundle.json"
        )
    )
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        pulls = intel_watch(feeds_file=str(feeds), storage=storage)
    by_feed = {p.feed: (p.status, p.new) for p in pulls}
    assert by_feed == {
        f"{tag}-taxii": ("new", 1),
        f"{tag}-http": ("unchanged", 0),  # a bundle of observations holds no indicators
        f"{tag}-file": ("unchanged", 0),
        f"{tag}-repo": ("unchanged", 0),
    }


def test_intel_pull_command(huntline: Any, tmp_path: Path) -> None:
    storage = str(tmp_path / "store")
    first = huntline("intel", "pull", "--json", "--storage", storage)
    assert first.returncode == 0, first.stderr
    assert [(p["feed"], p["status"], p["new"]) for p in json.loads(first.stdout)] == [
        ("sample", "new", 3)
    ]
    again = huntline("intel", "pull", "--feed", "sample", "--storage", storage)
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stdout
    unknown = huntline("intel", "pull", "--feed", "nope")
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "error: unknown intel feed 'nope'\n  hint: the feeds are: sample\n",
    )


def test_an_unreachable_feed_fails_cleanly_without_a_traceback(
    huntline: Any, tmp_path: Path, unused_port: int
) -> None:
    """Issue 23, item 11: an unreachable feed printed a 34-line traceback before the clean
    error."""
    feeds = tmp_path / "intel.yaml"
    url = f"http://127.0.0.1:{unused_port}/indicators.json"
    feeds.write_text(f"feeds:\n  partner:\n    kind: stix\n    url: {url}\n")
    result = huntline(
        "intel", "pull", "--feeds-file", str(feeds), "--storage", str(tmp_path / "store")
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "error: 1 of 1 intel feed(s) failed; the others were pulled: partner: " in (
        result.stderr
    )
    assert f"127.0.0.1:{unused_port}" in result.stderr.split("error:", 1)[1]
    assert "hint: a failed feed keeps its last good snapshot; fix it and pull again" in (
        result.stderr
    )

"""Fetch end to end: a real HTTP server, stix-shifter's stix_bundle connector, file:// bundles."""

from __future__ import annotations

import asyncio
import functools
import http.server
import logging
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostile_bundles import HOSTILE, NOTES, write
from stix_shifter.stix_transmission.stix_transmission import StixTransmission

from huntline.errors import DataSourceError, FetchError
from huntline.fetch import DataSource, StixShifterSource, Window, flatten, resolve_source
from huntline.fetch.sources.connectors import REREADING_PAGE_SIZE
from huntline.fetch.sources.retry import RetryPolicy

# test_bundle.json observes 2020-06-30 19:25-19:30; the connector's default is "the last 5 min".
JUNE_30 = Window(datetime(2020, 6, 30, tzinfo=UTC), datetime(2020, 7, 1, tzinfo=UTC))
ALL_IPS = "[ipv4-addr:value LIKE '%']"


def fetch(source: DataSource, pattern: str, window: Window = JUNE_30, **kw: int) -> list[list]:
    async def collect() -> list[list]:
        return [page async for page in source.pages(pattern, window, **kw)]

    return asyncio.run(collect())


@pytest.mark.server
def test_http_bundle_through_stix_bundle_connector(bundle_server: str, shared_data: Path) -> None:
    source = resolve_source(f"{bundle_server}/test_bundle.json")
    assert source.describe() == f"stix_bundle {bundle_server}/test_bundle.json"
    pages = fetch(source, ALL_IPS, page_size=30)
    assert [len(page) for page in pages] == [30, 30, 30, 10]
    observed = [obs for page in pages for obs in page]
    table = flatten(observed, "network-traffic")
    assert len(table) == 100
    assert {"src_ref.value", "dst_ref.value", "dst_port"} <= set(table.columns)

    # The same bundle read from disk gives the same observations and the same table.
    local = resolve_source(f"file://{shared_data / 'stix' / 'test_bundle.json'}")
    local_observed = [obs for page in fetch(local, ALL_IPS, page_size=30) for obs in page]
    assert [o["id"] for o in local_observed] == [o["id"] for o in observed]
    assert flatten(local_observed, "network-traffic").equals(table)


@pytest.mark.server
def test_an_http_bundle_comes_in_one_page_by_default(
    bundle_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stix_bundle downloads the whole bundle for every page: by default it is asked for
    # REREADING_PAGE_SIZE results at a time, so a bundle smaller than that is read once.
    asked: list[int] = []
    original = StixTransmission.results_async

    async def results(self: StixTransmission, *args: object) -> object:
        asked.append(args[2])  # type: ignore[arg-type]
        return await original(self, *args)

    monkeypatch.setattr(StixTransmission, "results_async", results)
    source = resolve_source(f"{bundle_server}/test_bundle.json")
    assert [len(page) for page in fetch(source, ALL_IPS)] == [100]
    assert asked == [REREADING_PAGE_SIZE]
    assert [len(page) for page in fetch(source, ALL_IPS, page_size=40)] == [40, 40, 20]
    assert asked[1:] == [40, 40, 40]


@pytest.mark.server
def test_many_pages_of_an_http_bundle_suggest_a_larger_page_size(
    bundle_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    source = resolve_source(f"{bundle_server}/test_bundle.json")
    with caplog.at_level(logging.WARNING, logger="huntline.fetch.sources.stixshifter"):
        assert len(fetch(source, ALL_IPS, page_size=10)) == 10
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records] == [
        "the stix_bundle connector reads the whole result again for every page (5 pages of 10 "
        "so far); a page_size near the expected number of results makes this fetch faster"
    ]


@pytest.mark.server
def test_http_limit_and_window(bundle_server: str) -> None:
    source = resolve_source(f"{bundle_server}/test_bundle.json")
    assert [len(p) for p in fetch(source, ALL_IPS, page_size=30, limit=45)] == [30, 15]
    june_29 = Window(datetime(2020, 6, 29, tzinfo=UTC), datetime(2020, 6, 30, tzinfo=UTC))
    assert fetch(source, ALL_IPS, june_29) == []


@pytest.mark.server
def test_http_compound_pattern_windows_every_branch(bundle_server: str) -> None:
    source = resolve_source(f"{bundle_server}/test_bundle_2.json")
    window = Window(datetime(2020, 9, 11, tzinfo=UTC), datetime(2020, 9, 12, tzinfo=UTC))
    pattern = "[network-traffic:dst_port = 22] OR [ipv4-addr:value = '192.168.5.11']"
    observed = [obs for page in fetch(source, pattern, window) for obs in page]
    assert observed
    assert all(obs["type"] == "observed-data" and "objects" in obs for obs in observed)


@pytest.mark.server
def test_unreachable_http_source_is_a_clear_error(unused_port: int) -> None:
    port = unused_port
    url = f"http://127.0.0.1:{port}/bundle.json"
    source = resolve_source(url)
    assert isinstance(source, StixShifterSource)
    source.retry = RetryPolicy(attempts=3, base_delay=0.01)  # unreachable is retried
    with pytest.raises(DataSourceError) as caught:
        fetch(source, ALL_IPS)
    error = caught.value
    assert error.message.startswith(
        f"data source '{url}' (stix_bundle {url}): results failed (after 3 attempts): "
    )
    assert "Cannot connect to host 127.0.0.1" in error.message
    assert error.hint == "check that the data source is running and reachable from this host"
    assert error.context["code"] == "service_unavailable"
    assert error.context["problem"] == "unreachable"


@pytest.mark.server
def test_missing_and_malformed_http_bundles(bundle_server: str) -> None:
    with pytest.raises(DataSourceError, match=r"results failed: .*404"):
        fetch(resolve_source(f"{bundle_server}/nope.json"), ALL_IPS)
    with pytest.raises(DataSourceError, match=r"Invalid STIX bundle\. Malformed JSON"):
        fetch(resolve_source(f"{bundle_server}/malformed.json"), ALL_IPS)


def test_file_bundle_relative_path(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(shared_data / "stix" / "powershell_search_stix_result.json", tmp_path / "p.json")
    monkeypatch.chdir(tmp_path)
    window = Window(datetime(2021, 2, 1, tzinfo=UTC), datetime(2021, 4, 1, tzinfo=UTC))
    pages = fetch(resolve_source("file://p.json"), "[process:name = 'powershell.exe']", window)
    table = flatten([obs for page in pages for obs in page], "process")
    assert len(table) == 10  # both processes of each of the 5 matching observations
    assert set(table["parent_ref.name"].dropna()) == {"compattelrunner.exe"}


def test_malformed_file_bundle(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "bundle",\n "objects": [1, 2,]}')
    with pytest.raises(FetchError) as caught:
        fetch(resolve_source(f"file://{bad}"), ALL_IPS)
    assert caught.value.message == (
        f"STIX bundle {bad}:2:18 is not valid JSON: trailing comma is not allowed"
    )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.server
def test_repeated_keys_in_an_http_bundle_are_named_once(tmp_path: Path) -> None:
    """Issue 22: the connector parses the download with json.loads, which keeps the last value
    of a repeated key without a word, and does so for every page. The keys are named, with the
    URL, and counted once per fetch."""
    from huntline.fetch import tally

    write(tmp_path / "hostile.json", HOSTILE)
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hostile.json"
        window = Window(datetime(2021, 6, 1, tzinfo=UTC), datetime(2021, 6, 2, tzinfo=UTC))
        with tally.tallied() as counted:
            pages = fetch(resolve_source(url), "[process:pid > 0]", window, page_size=1)
    finally:
        server.shutdown()
        server.server_close()
    assert [len(page) for page in pages] == [1, 1, 1]  # the bundle read three times, at least
    assert counted == {"bundle.duplicate keys": 2}
    assert counted.notes == [note.format(path=url) for note in NOTES]

"""The connector-backed source: paging, metadata passed back, async polling, connector errors.

The transmission is replaced by a scripted fake (real connectors are exercised in
tests/integration); translation is stix-shifter's real stix_bundle translation.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from huntline.errors import DataSourceError
from huntline.fetch import Profile, StixShifterSource, Window
from huntline.fetch.sources import stixshifter as module

WINDOW = Window(datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 1, 2, tzinfo=UTC))


def _obs(n: int) -> dict[str, Any]:
    return {
        "type": "observed-data",
        "id": f"observed-data--00000000-0000-4000-8000-{n:012d}",
        "first_observed": "2021-01-01T00:00:00Z",
        "last_observed": "2021-01-01T00:00:00Z",
        "number_observed": 1,
        "objects": {"0": {"type": "ipv4-addr", "value": f"10.0.0.{n}"}},
    }


class FakeTransmission:
    """An async connector with 7 results, paging by search_after-like metadata."""

    calls: ClassVar[list[tuple[Any, ...]]] = []
    fail_results = False

    def __init__(self, connector: str, connection: dict, config: dict) -> None:
        self.polls = 0

    def is_async(self) -> bool:
        return True

    async def query_async(self, query: str) -> dict[str, Any]:
        self.calls.append(("query", query))
        return {"success": True, "search_id": "s1"}

    async def status_async(self, search_id: str, metadata: Any = None) -> dict[str, Any]:
        self.polls += 1
        self.calls.append(("status", self.polls))
        return {"success": True, "status": "COMPLETED" if self.polls > 1 else "RUNNING"}

    async def results_async(
        self, search_id: str, offset: int, length: int, metadata: Any = None
    ) -> dict[str, Any]:
        self.calls.append(("results", offset, length, metadata))
        if self.fail_results:
            return {"success": False, "error": "bad api_key secret-key-1", "code": "unknown"}
        start = metadata or 0
        data = [_obs(n) for n in range(start, min(start + length, 7))]
        return {"success": True, "data": data, "metadata": start + len(data)}

    async def delete_async(self, search_id: str) -> dict[str, Any]:
        self.calls.append(("delete",))
        return {"success": True}


@pytest.fixture
def source(monkeypatch: pytest.MonkeyPatch) -> StixShifterSource:
    monkeypatch.setattr(module, "StixTransmission", FakeTransmission)
    FakeTransmission.calls = []
    FakeTransmission.fail_results = False
    profile = Profile("lab", "stix_bundle", {"url": "http://h/b.json"}, {"auth": {}})
    return StixShifterSource(profile, poll_interval=0.01)


def fetch(source: StixShifterSource, **kw: int) -> list[list[dict]]:
    async def collect() -> list[list[dict]]:
        return [p async for p in source.pages("[ipv4-addr:value LIKE '%']", WINDOW, **kw)]

    return asyncio.run(collect())


def test_pages_poll_and_pass_metadata_back(source: StixShifterSource) -> None:
    pages = fetch(source, page_size=3)
    assert [len(page) for page in pages] == [3, 3, 1]
    assert FakeTransmission.calls == [
        (
            "query",
            "[ipv4-addr:value LIKE '%'] "
            "START t'2021-01-01T00:00:00.000Z' STOP t'2021-01-02T00:00:00.000Z'",
        ),
        ("status", 1),
        ("status", 2),
        ("results", 0, 3, None),
        ("results", 3, 3, 3),
        ("results", 6, 3, 6),
        ("delete",),
    ]
    assert pages[0][0]["created_by_ref"].startswith("identity--")


def test_limit_shortens_the_last_request(source: StixShifterSource) -> None:
    assert [len(page) for page in fetch(source, page_size=3, limit=5)] == [3, 2]
    assert [c for c in FakeTransmission.calls if c[0] == "results"] == [
        ("results", 0, 3, None),
        ("results", 3, 2, 3),
    ]


def test_connector_error_names_source_and_hides_secrets(
    source: StixShifterSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = Profile(
        "lab", "stix_bundle", {"url": "http://h/b.json"}, {"auth": {"key": "secret-key-1"}}
    )
    source = StixShifterSource(profile, poll_interval=0.01)
    FakeTransmission.fail_results = True
    with pytest.raises(DataSourceError) as caught:
        fetch(source)
    assert caught.value.message == (
        "data source 'lab' (stix_bundle http://h/b.json): results failed: bad api_key ***"
    )
    assert FakeTransmission.calls[-1] == ("delete",)


def test_connectors_that_reread_every_page_default_to_large_pages() -> None:
    from huntline.fetch.base import DEFAULT_PAGE_SIZE
    from huntline.fetch.sources.connectors import REREADING_PAGE_SIZE, default_page_size

    assert default_page_size("stix_bundle") == REREADING_PAGE_SIZE == 20_000
    assert default_page_size("mysql") == REREADING_PAGE_SIZE
    assert default_page_size("elastic_ecs") == default_page_size("qradar") == DEFAULT_PAGE_SIZE

"""Several sources in one get step: concurrent, tagged with x_datasource, limited, failing whole."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from huntline.errors import DataSourceError
from huntline.fetch import ObservedData, Window
from huntline.fetch.sources.multi import fetch_sources

WINDOW = Window(datetime(2021, 1, 1, tzinfo=UTC), datetime(2021, 1, 2, tzinfo=UTC))


def _obs(source: str, n: int) -> ObservedData:
    return {
        "type": "observed-data",
        "id": f"observed-data--{abs(hash((source, n))) % 10**12:08d}-0000-4000-8000-000000000000",
        "first_observed": "2021-01-01T00:00:00Z",
        "last_observed": "2021-01-01T00:00:00Z",
        "number_observed": 1,
        "objects": {"0": {"type": "process", "pid": n, "name": f"{source}-{n}"}},
    }


class FakeSource:
    """Yields ``pages`` pages of ``size`` after ``delay`` each; may fail after ``fail_after``."""

    def __init__(
        self, name: str, pages: int, size: int = 2, delay: float = 0.0, fail_after: int = -1
    ) -> None:
        self.name, self.count, self.size, self.delay = name, pages, size, delay
        self.fail_after = fail_after
        self.cancelled = False
        self.served = 0

    def describe(self) -> str:
        return f"fake {self.name}"

    async def pages(
        self, pattern: str, window: Window, *, limit: int | None = None, page_size: int = 1000
    ) -> AsyncIterator[list[ObservedData]]:
        try:
            for index in range(self.count):
                await asyncio.sleep(self.delay)
                if index == self.fail_after:
                    raise DataSourceError(
                        f"data source {self.name!r}: results failed: down", source=self.name
                    )
                self.served += 1
                yield [_obs(self.name, index * self.size + i) for i in range(self.size)]
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def collect(sources: list[Any], **kw: Any) -> list[Any]:
    async def run() -> list[Any]:
        return [page async for page in fetch_sources(sources, "[process:pid > 0]", WINDOW, **kw)]

    return asyncio.run(run())


def test_sources_are_fetched_concurrently_and_tagged() -> None:
    fast, slow = FakeSource("edr", 3, delay=0.01), FakeSource("siem", 2, delay=0.025)
    pages = collect([slow, fast])
    order = [page.source for page in pages]
    assert sorted(order) == ["edr", "edr", "edr", "siem", "siem"]
    assert order[0] == "edr" and order.index("siem") < 4  # interleaved, not one after the other
    for page in pages:
        assert {obs["x_datasource"] for obs in page.observed} == {page.source}


def test_every_observation_carries_its_source() -> None:
    pages = collect([FakeSource("edr", 2), FakeSource("siem", 1)])
    assert sum(len(page.observed) for page in pages) == 6
    for page in pages:
        assert {obs["x_datasource"] for obs in page.observed} == {page.source}
        scos = [sco for obs in page.observed for sco in obs["objects"].values()]
        names = {sco["name"].split("-")[0] for sco in scos}
        assert names == {page.source}


def test_limit_caps_the_whole_step() -> None:
    pages = collect([FakeSource("edr", 5, size=3), FakeSource("siem", 5, size=3)], limit=7)
    assert sum(len(page.observed) for page in pages) == 7


def test_first_failure_stops_the_step_and_says_how_far_it_got() -> None:
    edr = FakeSource("edr", 50, delay=0.005)
    siem = FakeSource("siem", 3, delay=0.02, fail_after=2)
    with pytest.raises(DataSourceError) as caught:
        collect([edr, siem])
    error = caught.value
    assert error.message.startswith(
        "data source 'siem': results failed: down [while fetching from 2 sources; siem failed; "
        "delivered so far: edr "
    )
    assert "siem 4 observations in 2 pages]" in error.message
    assert error.context["failed_source"] == "siem"
    assert error.context["fetched"]["siem"] == {"pages": 2, "observations": 4, "done": False}
    assert edr.cancelled and edr.served < 50
    assert pickle.loads(pickle.dumps(error)).context == error.context


def test_one_source_keeps_its_error_message() -> None:
    with pytest.raises(DataSourceError) as caught:
        collect([FakeSource("edr", 3, fail_after=1)])
    assert caught.value.message == "data source 'edr': results failed: down"
    assert caught.value.context["fetched"] == {
        "edr": {"pages": 1, "observations": 2, "done": False}
    }


def test_sources_are_resolved_and_checked() -> None:
    resolved: list[str] = []

    def resolve(name: str) -> Any:
        resolved.append(name)
        return FakeSource(name, 1)

    assert len(collect(["edr", "siem"], resolve=resolve)) == 2
    assert resolved == ["edr", "siem"]
    with pytest.raises(DataSourceError, match="'edr' is listed twice in one get step"):
        collect(["edr", "edr"], resolve=resolve)
    with pytest.raises(DataSourceError, match="at least one data source"):
        collect([])

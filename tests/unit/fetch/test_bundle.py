"""file:// bundles: window, pattern matching the stix_bundle way, and clear errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stixgen

from huntline.errors import DataSourceError, FetchError
from huntline.fetch import BundleSource, Window, flatten, resolve_source
from huntline.fetch.sources.bundle import match_all, read_observed_data
from huntline.fetch.sources.matcher import reference_match
from huntline.fetch.sources.pattern import binds_one_observation

FILES = Path(__file__).resolve().parents[2] / "files" / "fetch"
ALL_2021 = Window(datetime(2021, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC))


def fetch(source: BundleSource, pattern: str, window: Window = ALL_2021, **kw: int) -> list:
    async def collect() -> list:
        return [page async for page in source.pages(pattern, window, **kw)]

    return asyncio.run(collect())


def ids(pages: list) -> list[str]:
    return [obs["id"].split("--")[1][:8] for page in pages for obs in page]


def test_every_binding_counts_not_only_the_first() -> None:
    source = BundleSource(FILES / "processes.json")
    pages = fetch(source, "[process:name = 'whoami'] OR [ipv4-addr:value = '10.0.0.2']")
    assert ids(pages) == ["41eb677f", "119dbc00"]


def test_window_overlap_is_half_open() -> None:
    source = BundleSource(FILES / "processes.json")
    pattern = "[ipv4-addr:value LIKE '%'] OR [process:pid > 0]"
    # The second observation spans 10:00-10:05 on May 3rd.
    touching_stop = Window(datetime(2021, 5, 2, tzinfo=UTC), datetime(2021, 5, 3, 10, tzinfo=UTC))
    assert ids(fetch(source, pattern, touching_stop)) == []
    inside = Window(datetime(2021, 5, 3, 10, 4, tzinfo=UTC), datetime(2021, 5, 4, tzinfo=UTC))
    assert ids(fetch(source, pattern, inside)) == ["119dbc00"]


def test_start_stop_written_in_the_pattern_is_honoured() -> None:
    source = BundleSource(FILES / "processes.json")
    pattern = (
        "[process:pid > 0] START t'2021-05-01T00:00:00Z' STOP t'2021-05-02T00:00:00Z'"
        " OR [ipv4-addr:value LIKE '%'] START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'"
    )
    assert ids(fetch(source, pattern)) == ["41eb677f"]


def test_paging_and_limit(shared_data: Path) -> None:
    source = resolve_source(f"file://{shared_data / 'stix' / 'test_bundle.json'}")
    window = Window(datetime(2020, 6, 30, tzinfo=UTC), datetime(2020, 7, 1, tzinfo=UTC))
    pages = fetch(source, "[ipv4-addr:value LIKE '%']", window, page_size=30)  # type: ignore[arg-type]
    assert [len(page) for page in pages] == [30, 30, 30, 10]
    pages = fetch(source, "[ipv4-addr:value LIKE '%']", window, page_size=30, limit=45)  # type: ignore[arg-type]
    assert [len(page) for page in pages] == [30, 15]


def test_malformed_json_names_file_line_and_column() -> None:
    path = FILES / "malformed.json"
    with pytest.raises(FetchError) as caught:
        fetch(BundleSource(path), "[process:pid > 0]")
    assert caught.value.message == (
        f"STIX bundle {path}:4:30 is not valid JSON: unexpected character, expected a string key"
    )
    assert caught.value.context == {"file": str(path), "line": 4, "column": 30}


def test_bundle_without_objects() -> None:
    path = FILES / "no_objects.json"
    with pytest.raises(FetchError) as caught:
        fetch(BundleSource(path), "[process:pid > 0]")
    assert caught.value.message == f"STIX bundle {path} has no 'objects' list"


def test_missing_file_is_a_data_source_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(DataSourceError) as caught:
        fetch(BundleSource(path), "[process:pid > 0]")
    assert caught.value.message == f"cannot read STIX bundle {path}: No such file or directory"


def test_stix_21_observations_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "b21.json"
    path.write_text(
        '{"type": "bundle", "objects": [{"type": "observed-data", "id": "observed-data--1",'
        ' "object_refs": ["process--2"]}]}'
    )
    with pytest.raises(FetchError, match=r"observed-data #0 \(observed-data--1\) is STIX 2.1"):
        fetch(BundleSource(path), "[process:pid > 0]")


def test_bad_pattern_is_a_data_source_error() -> None:
    with pytest.raises(DataSourceError, match="cannot match STIX pattern"):
        fetch(BundleSource(FILES / "processes.json"), "[process:pid >>> 0]")


def generated(tmp_path: Path, count: int) -> tuple[Path, str]:
    path = tmp_path / "generated.json"
    stixgen.write_bundle(path, count, seed=2, match_fraction=0.2)
    return path, stixgen.MATCH_PATTERN


ALL_TIME = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def test_streamed_bundle_gives_the_pages_of_the_whole_file(tmp_path: Path) -> None:
    """A one-observation pattern is matched chunk by chunk as the file is parsed: the same
    observations, in the same pages, as matching the whole file at once."""
    path, pattern = generated(tmp_path, 2500)
    whole = match_all(pattern, read_observed_data(path), source="test")
    assert len(whole) > 300

    pages = fetch(
        BundleSource(path), f"{pattern} OR [ipv6-addr:value = '::9']", ALL_TIME, page_size=70
    )  # type: ignore[arg-type]

    assert [obs["id"] for page in pages for obs in page] == [obs["id"] for obs in whole]
    assert {len(page) for page in pages[:-1]} == {70}
    limited = fetch(BundleSource(path), pattern, ALL_TIME, page_size=70, limit=100)  # type: ignore[arg-type]
    assert [len(page) for page in limited] == [70, 30]


def test_a_pattern_binding_several_observations_reads_the_whole_file(tmp_path: Path) -> None:
    path, pattern = generated(tmp_path, 1500)
    both = f"{pattern} AND [ipv4-addr:value LIKE '10.%']"
    assert not binds_one_observation(both) and binds_one_observation(pattern)

    pages = fetch(BundleSource(path), both, ALL_TIME)

    matched = {obs["id"] for page in pages for obs in page}
    alone = {obs["id"] for page in fetch(BundleSource(path), pattern, ALL_TIME) for obs in page}
    assert alone < matched  # the AND binds observations from both sides


def test_a_bundle_broken_part_way_fails_after_the_pages_before_the_break(tmp_path: Path) -> None:
    path, pattern = generated(tmp_path, 2500)
    text = path.read_bytes()
    path.write_bytes(text[: len(text) * 9 // 10] + b"}}garbage")
    pages = []

    async def collect() -> None:
        async for page in BundleSource(path).pages(pattern, ALL_TIME, page_size=50):
            pages.append(page)

    with pytest.raises(FetchError) as caught:
        asyncio.run(collect())
    assert pages, "the pages before the break were delivered"
    assert caught.value.message.startswith(f"STIX bundle {path}:")
    assert "is not valid JSON" in caught.value.message
    assert caught.value.context["line"] > 2000


def test_a_broken_bundle_too_large_to_reparse_names_the_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, pattern = generated(tmp_path, 1500)
    path.write_bytes(path.read_bytes()[:-5000] + b"}}garbage")
    monkeypatch.setattr("huntline.fetch.sources.bundle._REPARSE_LIMIT", 0)

    with pytest.raises(FetchError, match=rf"STIX bundle {path} is not valid JSON near byte \d+"):
        fetch(BundleSource(path), pattern, ALL_TIME)


LOCALLY_EVALUATED = [
    "[process:name = 'powershell.exe']",
    "[process:name = 'powershell.exe' OR process:name = 'cmd.exe']",
    "[process:name = 'cmd.exe'] OR [ipv4-addr:value = '10.0.3.202']",
    "[process:name = 'it\\'s' OR user-account:user_id = 'user041']",
    "[process:name NOT = 'cmd.exe']",
    "[process:name = 'cmd.exe' AND process:pid > 100]",
    "[process:parent_ref.name = 'cmd.exe']",
    "[file:hashes.MD5 = 'a790d4bb8f29d1cc593c8e0e8590ec16']",
    "[network-traffic:protocols[*] = 'udp']",
    "[process:pid = 6251] OR [network-traffic:dst_port = 53]",
    "[x-oca-event:action IN ('connection', 'process_started')]",
    "[user-account:user_id LIKE 'user04%']",
    "[ipv4-addr:value ISSUBSET '10.0.0.0/16']",
    "[process:command_line MATCHES 'job 2[0-9]$']",
    "[user-account:is_privileged = 'false']",
    "[email-addr:value = 'nobody@example.com']",
]


@pytest.mark.parametrize("pattern", LOCALLY_EVALUATED)
def test_local_evaluation_matches_what_stix2_matcher_matches(pattern: str, tmp_path: Path) -> None:
    """The bundle source evaluates these patterns locally: the observations it keeps are
    exactly those in stix2-matcher's bindings, on the generator's awkward shapes too."""
    path, _ = generated(tmp_path, 1500)
    observed = read_observed_data(path)
    local = match_all(pattern, observed, source="test")
    oracle = reference_match(pattern, observed)
    assert [obs["id"] for obs in local] == [obs["id"] for obs in observed if obs["id"] in oracle]


SURROGATES = (
    '{"type": "bundle", "objects": [{"type": "observed-data", "id": "observed-data--1", '
    '"first_observed": "2021-05-03T10:00:00Z", "last_observed": "2021-05-03T10:00:00Z", '
    '"number_observed": 1, "objects": {"0": {"type": "process", "pid": 4, '
    '"name": "\\udcffsvc.exe"}}}]}'
)


def test_unpaired_surrogate_escapes_are_read_whole_and_flattened_as_u_fffd(
    tmp_path: Path,
) -> None:
    """Valid JSON that orjson refuses: read with Python's json, and the name stored with
    U+FFFD, as Arrow text must be UTF-8."""
    path = tmp_path / "windows.json"
    path.write_text(SURROGATES)
    (observed,) = read_observed_data(path)
    assert observed["objects"]["0"]["name"] == "\udcffsvc.exe"
    assert flatten(read_observed_data(path), "process")["name"].tolist() == ["\ufffdsvc.exe"]


def test_unpaired_surrogate_escapes_in_a_streamed_bundle_are_named(tmp_path: Path) -> None:
    path = tmp_path / "windows.json"
    path.write_text(SURROGATES)
    with pytest.raises(FetchError, match="unpaired UTF-16 surrogate escape") as caught:
        fetch(BundleSource(path), "[process:pid = 4]", ALL_2021)
    assert caught.value.hint is not None and "U+FFFD" in caught.value.hint

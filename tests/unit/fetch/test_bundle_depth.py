"""Deeply nested bundles (issue 22 item 11): a value nested 100,000 deep is refused at once,
not parsed for minutes; the depth bound agrees with a JSON parser on any value and any chunking."""

from __future__ import annotations

import asyncio
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huntline.errors import FetchError
from huntline.fetch import BundleSource, Window
from huntline.fetch.sources import json_depth
from huntline.fetch.sources.json_depth import DepthLimited, TooDeep

WINDOW = Window(datetime(2021, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC))


def deep_bundle(path: Path, depth: int) -> Path:
    nested = '{"a": ' * depth + "1" + "}" * depth
    observation = (
        '{"type": "observed-data", "id": "observed-data--00000000-0000-4000-8000-000000000001", '
        '"first_observed": "2021-06-01T00:00:00Z", "last_observed": "2021-06-01T00:00:00Z", '
        '"number_observed": 1, "objects": {"0": {"type": "process", "name": "cmd.exe", '
        f'"x_deep": {nested}}}}}}}'
    )
    path.write_text('{"type": "bundle", "id": "bundle--1", "objects": [' + observation + "]}")
    return path


def fetch(path: Path) -> list[Any]:
    async def collect() -> list[Any]:
        source = BundleSource(path)
        return [
            obs async for page in source.pages("[process:name = 'cmd.exe']", WINDOW) for obs in page
        ]

    return asyncio.run(collect())


def test_a_value_nested_100000_deep_is_refused_at_once(tmp_path: Path) -> None:
    path = deep_bundle(tmp_path / "deep.json", 100_000)
    started = time.process_time()
    with pytest.raises(FetchError) as caught:
        fetch(path)
    assert str(caught.value) == (
        f"STIX bundle {path} is nested deeper than 1,000 levels within bytes 0-65,536\n"
        "  hint: no STIX value needs 1,000 levels: where is the file from?"
    )
    assert time.process_time() - started < 2.0


def test_a_value_nested_900_deep_is_read(tmp_path: Path) -> None:
    (observation,) = fetch(deep_bundle(tmp_path / "deep.json", 900))
    assert observation["objects"]["0"]["name"] == "cmd.exe"


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


# Text full of what confuses a scanner: quotes, backslashes, brackets, escapes
TRICKY = st.text(alphabet=st.sampled_from('ab"\\[]{}\n\t/ué:'), max_size=8)
JSON = st.recursive(
    st.none() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TRICKY, inner, max_size=4),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON, chunk=st.integers(min_value=1, max_value=64), ascii=st.booleans())
def test_the_bound_agrees_with_a_json_parser(value: Any, chunk: int, ascii: bool) -> None:
    data = json.dumps(value, ensure_ascii=ascii).encode()
    want = depth(value)
    for limit in {want, max(want - 1, 0)}:
        reader = DepthLimited(io.BytesIO(data))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(json_depth, "MAX_DEPTH", limit)
            try:
                while reader.read(chunk):
                    pass
                refused = False
            except TooDeep:
                refused = True
        assert refused == (want > limit)


def colons_from(value: Any, level: int = 1) -> int:
    """The colons of ``value`` written as JSON, from the items (level 3) on."""
    if level >= json_depth.PAIRS_FROM:
        return json.dumps(value).count(":")
    inner = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return sum(colons_from(v, level + 1) for v in inner)


@settings(max_examples=300, deadline=None)
@given(
    value=JSON,
    beside=JSON,
    chunk=st.integers(min_value=1, max_value=64),
    ascii=st.booleans(),
    escape=st.booleans(),
)
def test_the_colons_counted_agree_with_a_json_parser(
    value: Any, beside: Any, chunk: int, ascii: bool, escape: bool
) -> None:
    """The scanner's count of colons inside a bundle's items (:mod:`.json_keys` compares it with
    what was parsed) is exact on any items and any chunking (colons in keys and values, escapes,
    a string split between reads), and never less when values beside the items hold colons."""
    bundle = {"type": "bundle", "x": beside, "objects": [value, {"t": "12:30:00", "u": ":"}]}
    data = json.dumps(bundle, ensure_ascii=ascii)
    if escape:
        data = data.replace(":", "\\u003a").replace("\\u003a ", ": ")  # colons in strings escaped
    reader = DepthLimited(io.BytesIO(data.encode()))
    while reader.read(chunk):
        pass
    exact = colons_from(bundle)
    assert reader.item_colons >= exact
    if ":" not in json.dumps(beside):
        assert reader.item_colons == exact

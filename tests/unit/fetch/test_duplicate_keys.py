"""Keys repeated within one JSON object of a bundle (issue 22 item 4): JSON readers keep the last
value, so a repeated key in an observation's ``objects`` dropped an entity and a repeated
property replaced a value, without a word. Both reading paths now count and name each one."""

from __future__ import annotations

import io
import json
from itertools import chain
from pathlib import Path
from typing import Any

from hostile_bundles import HOSTILE, NOTES, OBSERVATION, write
from hypothesis import given, settings
from hypothesis import strategies as st

from huntline.fetch import tally
from huntline.fetch.sources import json_keys
from huntline.fetch.sources.bundle import read_observed_data, stream_observed_data


def streamed(path: Path) -> list[Any]:
    return list(chain.from_iterable(stream_observed_data(path, 2)))


def test_both_paths_count_and_name_each_repeated_key(tmp_path: Path) -> None:
    path = write(tmp_path / "hostile.json", HOSTILE)
    for read in (read_observed_data, streamed):
        with tally.tallied() as counted:
            observed = read(path)
        assert [o["objects"]["0"]["name"] for o in observed] == [
            "notepad.exe", "cmd.exe", "svchost.exe"
        ]  # fmt: skip
        assert counted == {"bundle.duplicate keys": 2}
        assert counted.notes == [note.format(path=path) for note in NOTES]


def test_a_bundle_without_repeated_keys_says_nothing(tmp_path: Path) -> None:
    """Colons in keys and values, escaped (``\\u003a``) or not, and nested objects: no alarm."""
    objects = (
        '{"0": {"type": "x-a:b", "x_t": "12:30:00", "x_u": "a\\u003ab", "x_q": "\\":\\"", '
        '"x_n": {"k:": {"k": [{"k": 1}]}}}}'
    )
    path = write(tmp_path / "fine.json", [objects, HOSTILE[2]])
    for read in (read_observed_data, streamed):
        with tally.tallied() as counted:
            assert len(read(path)) == 2
        assert counted == {} and counted.notes == []


def test_a_repeated_objects_array_is_named_when_only_the_last_is_read(tmp_path: Path) -> None:
    """The whole-file reader keeps the last ``objects`` of a bundle; the streaming one reads
    every ``objects`` array, so nothing is dropped there and nothing said."""
    first = OBSERVATION.format(n=9, objects=HOSTILE[2])
    path = write(
        tmp_path / "two.json", [HOSTILE[2]], head=f'"type": "bundle", "objects": [{first}]'
    )
    with tally.tallied() as counted:
        assert len(read_observed_data(path)) == 1
    assert counted.notes == [
        f"STIX bundle {path} has the key 'objects' twice at its top level: the last value was "
        "read, the earlier one dropped"
    ]
    with tally.tallied() as counted:
        assert len(streamed(path)) == 2
    assert counted == {}


def test_past_ten_the_rest_are_summed_up(tmp_path: Path) -> None:
    one = '{"0": {"type": "process", "pid": 1, "pid": 2, "pid": 3}}'
    path = write(tmp_path / "many.json", [one] * 12)
    with tally.tallied() as counted:
        streamed(path)
    assert counted == {"bundle.duplicate keys": 24}
    assert counted.notes[0] == (
        f"STIX bundle {path}: observed-data--0 has the key 'pid' 3 times in objects.0: the last "
        "value was read, the 2 earlier ones dropped"
    )
    assert counted.notes[10:] == [f"STIX bundle {path}: 2 more keys repeated (not named)"]


def test_the_get_step_warns_and_the_manifest_counts() -> None:
    assert tally.describe({"bundle.duplicate keys": 2}) == (
        "bundle.duplicate keys: 2 keys were repeated within one JSON object of a bundle: as every "
        "JSON reader does, the last value was read and the earlier ones dropped (each is named "
        "in a warning)"
    )


KEYS = st.sampled_from(["a", "b", ":", '"', "\\", "é"])
JSON = st.recursive(
    st.none() | st.integers(-(2**70), 2**70) | st.text(alphabet='ab:"\\é', max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(JSON, max_size=4))
def test_value_colons_counts_every_colon(values: list[Any]) -> None:
    """Exact whatever the values hold: quotes and backslashes in strings, ints beyond 64 bits
    (which orjson cannot write, so they are walked)."""
    assert json_keys.value_colons(values) == json.dumps(values).count(":")


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(KEYS, JSON, min_size=1, max_size=3), data=st.data())
def test_a_key_given_twice_anywhere_is_found(value: dict[str, Any], data: st.DataObject) -> None:
    text = json.dumps({"objects": [{"id": "x", "objects": value}]})
    key = data.draw(st.sampled_from(sorted(value)))
    quoted = json.dumps(key)
    doubled = text.replace(f"{quoted}: ", f"{quoted}: 0, {quoted}: ", 1)
    found = list(json_keys.repeats(io.BytesIO(doubled.encode()), top_level=True))
    assert len(found) == 1 and found[0].item == 0 and found[0].item_id == "x"
    assert json_keys.text_colons(doubled.encode()) != json_keys.value_colons(json.loads(doubled))

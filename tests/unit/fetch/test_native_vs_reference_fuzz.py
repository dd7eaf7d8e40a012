"""Random observed-data, awkward on purpose: the C collector and the reference rules must give
equal tables, or fail alike, and the C collector's ids are uuid5s.

The C collector reads untrusted input (whatever a connector or a bundle holds), so this throws
shapes at it that no test bundle has: values of every JSON type in every place, names to quote,
shorten or collide, references to nothing, to themselves and to non-SCOs, hashes of every
kind, surrogates (in values, types and keys) and control characters, and observation fields
of the wrong type.

A page of 60 such observations mostly holds a name that collides once shortened, and the C
collector hands those back (to the reference); so each observation is also its own page, which
C takes (about 96 % of them), and the test checks that it took most.
"""

from __future__ import annotations

import copy
import os
import random
import uuid
from types import ModuleType
from typing import Any

import pytest

from huntline.errors import FetchError
from huntline.fetch.stix import collect
from huntline.fetch.stix.identity import IdCache, uuid5
from huntline.fetch.stix.rules import occurrence_tables, valid_text

#: Pages per run: 60 in the suite; ``HUNTLINE_FUZZ_SEEDS=1500 pytest ...`` for a deeper search.
SEEDS = int(os.environ.get("HUNTLINE_FUZZ_SEEDS", "60"))
TYPES = [
    "process", "file", "directory", "ipv4-addr", "network-traffic", "user-account",
    "x-oca-event", "x-oca-asset", "software", "email-message", "x-custom", "artifact",
    "x-\udcff",
]  # fmt: skip
NAMES = [
    "name", "pid", "value", "path", "hashes", "extensions", "src_ref", "dst_ref", "parent_ref",
    "binary_ref", "child_refs", "ip_refs", "x_unique_id", "hostname", "host_id", "protocols",
    "first_observed", "id", "spec_version", "a-b", "x:y-z", "a.b", "extensions.'x'.foo",
    "x_" + "long_" * 10, "\u00e9t\u00e9", "user_id", "account_login", "size", "start", "end",
]  # fmt: skip
TEXTS = ["", "a", "a/b", 'q"t', "back\\slash", "tab\t", "\x01", "\u00e9", "\ud800", "C:\\W/x"]


def _value(rng: random.Random, depth: int, keys: list[str]) -> Any:
    kind = rng.randrange(12 if depth < 2 else 8)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -7, 2**40, 2**63 - 1, -(2**63), -(2**63) - 1, 2**64, 2**70])
    if kind == 3:
        return rng.choice([0.5, 1.0, 1e16, -2.25e-7])
    if kind in (4, 5):
        return rng.choice(TEXTS)
    if kind in (6, 7):
        return rng.choice(keys) if keys else "0"  # a local key: a reference target
    if kind in (8, 9):
        return [_value(rng, depth + 1, keys) for _ in range(rng.randrange(4))]
    return {
        rng.choice(["MD5", "SHA-256", "'SHA-1'", "x-e", "type", "k", "process_guid"]): _value(
            rng, depth + 1, keys
        )
        for _ in range(rng.randrange(4))
    }


def _observation(rng: random.Random, index: int) -> dict[str, Any]:
    keys = [str(k) for k in range(rng.randrange(1, 7))]
    if rng.random() < 0.05:
        keys.append("k\udc80")
    objects: dict[str, Any] = {}
    for key in keys:
        if rng.random() < 0.08:
            objects[key] = rng.choice(["not an object", {"value": "typeless"}, [1]])
            continue
        sco: dict[str, Any] = {"type": rng.choice(TYPES)}
        for _ in range(rng.randrange(6)):
            sco[rng.choice(NAMES)] = _value(rng, 0, keys)
        objects[key] = sco
    obs: dict[str, Any] = {
        "type": "observed-data",
        "id": f"observed-data--{index}",
        "first_observed": "2024-01-01T00:00:00Z",
        "last_observed": rng.choice(["2024-01-01T00:00:05Z", None, 5]),
        "number_observed": rng.choice([1, 2, 3, None, 2.5, "4"]),
        "objects": objects,
    }
    return obs


def _tables_or_error(build: Any, page: list[dict[str, Any]], cache: IdCache) -> Any:
    try:
        return build(page, cache)
    except FetchError as error:
        return ("FetchError", str(error))
    except Exception as error:  # the reference's own failure, which both must share
        return (type(error).__name__, str(error))


def _assert_same(got: Any, reference: Any) -> None:
    if isinstance(reference, tuple):
        assert got == reference
        return
    assert list(got) == list(reference)
    for sco_type, table in reference.items():
        assert got[sco_type].schema == table.schema, sco_type
        assert got[sco_type].equals(table), sco_type


def _assert_uuid5_ids(tables: Any) -> None:
    """Every id is ``<type>--<uuid>`` with a version-5 uuid, written as ``uuid`` writes it."""
    if isinstance(tables, tuple):
        return
    for sco_type, table in tables.items():
        for sco_id in table.column("id").to_pylist():
            prefix, _, text = sco_id.rpartition("--")
            assert prefix == valid_text(sco_type)  # Arrow text holds no lone surrogate
            assert uuid.UUID(text).version == 5 and str(uuid.UUID(text)) == text


@pytest.mark.parametrize("seed", range(SEEDS))
def test_random_pages_equal_the_reference(seed: int, c_collector: ModuleType) -> None:
    rng = random.Random(seed)
    observed = [_observation(rng, i) for i in range(60)]
    reference = _tables_or_error(occurrence_tables, copy.deepcopy(observed), IdCache())
    got = _tables_or_error(collect.page_occurrences, copy.deepcopy(observed), IdCache())
    _assert_same(got, reference)
    taken = 0
    ours, theirs = IdCache(), IdCache()
    for obs in observed:  # one page each, caches carried over
        expected = _tables_or_error(occurrence_tables, copy.deepcopy([obs]), theirs)
        if not isinstance(expected, tuple) and c_collector.collect([copy.deepcopy(obs)], IdCache()):
            taken += 1
        got = _tables_or_error(collect.page_occurrences, copy.deepcopy([obs]), ours)
        _assert_same(got, expected)
        _assert_uuid5_ids(got)
    assert taken >= len(observed) // 2, "the C collector handed back most pages: fuzz it anew"


@pytest.mark.parametrize("seed", range(SEEDS))
def test_ids_are_the_uuid_module_uuid5(seed: int) -> None:
    """``identity.uuid5`` (what the reference hashes with; C equals the reference above) is
    ``uuid.uuid5`` on random names: ASCII, non-ASCII, escapes and empty."""
    rng = random.Random(seed)
    namespace = uuid.UUID(int=rng.getrandbits(128))
    for _ in range(50):
        name = "".join(rng.choice([*TEXTS, *NAMES, "\u00e9", "\U0001f600"]) for _ in range(4))
        name = name.encode("utf-8", "replace").decode("utf-8")  # uuid.uuid5 takes text
        assert uuid5(namespace.bytes, name.encode()) == str(uuid.uuid5(namespace, name))

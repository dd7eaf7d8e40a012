"""Random observed-data, awkward on purpose: the C collector, the Python collector and the
reference rules must give equal tables, or fail alike.

The C collector reads untrusted input (whatever a connector or a bundle holds), so this throws
shapes at it that no test bundle has: values of every JSON type in every place, names to quote,
shorten or collide, references to nothing, to themselves and to non-SCOs, hashes of every
kind, surrogates (in values, types and keys) and control characters, and observation fields
of the wrong type.
"""

from __future__ import annotations

import copy
import os
import random
from typing import Any

import pytest

from huntline.errors import FetchError
from huntline.fetch.stix import collect as fastocc
from huntline.fetch.stix.identity import IdCache
from huntline.fetch.stix.rules import occurrence_tables

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


@pytest.mark.parametrize("seed", range(SEEDS))
@pytest.mark.usefixtures("c_collector")
def test_random_pages_equal_the_reference(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    observed = [_observation(rng, i) for i in range(60)]
    reference = _tables_or_error(occurrence_tables, copy.deepcopy(observed), IdCache())
    got_c = _tables_or_error(fastocc.page_occurrences, copy.deepcopy(observed), IdCache())
    monkeypatch.setattr(fastocc, "native", None)
    got_python = _tables_or_error(fastocc.page_occurrences, copy.deepcopy(observed), IdCache())
    for got in (got_c, got_python):
        if isinstance(reference, tuple):
            assert got == reference
            continue
        assert list(got) == list(reference)
        for sco_type, table in reference.items():
            assert got[sco_type].schema == table.schema, sco_type
            assert got[sco_type].equals(table), sco_type

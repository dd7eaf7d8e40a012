"""``huntline.book.sco_table`` (what ``validate`` checks alert columns against, so that it
imports no ``stix2``) is what the installed ``stix2`` defines, and is written as the generator
writes it."""

from __future__ import annotations

import pytest

from huntline.book import sco_generate
from huntline.book.sco_table import PROPERTIES


def test_the_committed_table_is_what_stix2_defines() -> None:
    expected = sco_generate.from_stix2()
    if expected != PROPERTIES:
        changed = sorted(
            t for t in {*PROPERTIES, *expected} if PROPERTIES.get(t) != expected.get(t)
        )
        pytest.fail(
            f"{sco_generate.TABLE.name} is stale: the installed stix2 defines other properties "
            f"for {', '.join(changed)}. Regenerate it with `{sco_generate.REGENERATE}` and "
            "commit it."
        )
    assert sco_generate.TABLE.read_text() == sco_generate.render(expected)


def test_references_keep_the_types_they_point_to() -> None:
    process = PROPERTIES["process"]
    assert process["parent_ref"] == frozenset({"process"})
    assert process["binary_ref"] == process["image_ref"] == frozenset({"file"})
    assert process["child_refs"] is None  # a list: its items are the data's
    assert PROPERTIES["network-traffic"]["dst_ref"] == frozenset(
        {"domain-name", "ipv4-addr", "ipv6-addr", "mac-addr"}
    )

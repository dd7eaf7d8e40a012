"""What a connector keeps of a member's pattern (huntline.fetch.sources.reach), checked against
stix-shifter's own translation of real connectors: a pattern nothing of which maps fails
translation alone, and a partly kept pattern translates to the same native queries as the
pattern written; then the pack's cover leaves out or narrows such members."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from stix_shifter.stix_translation.stix_translation import StixTranslation

from huntline.fetch.sources.pattern import with_window
from huntline.fetch.sources.reach import SourceReach, connector_reach, reach_of
from huntline.packs.cover import OR, covering_fetch
from huntline.patterns import compile_pattern
from huntline.window import Window

WINDOW = Window(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, 1, tzinfo=UTC))
OPTIONS = {"mysql": {"table": "events"}, "elastic_ecs": {}}
PATTERNS = [
    "[process:name = 'a']",
    "[process:command_line = 'x']",
    "[process:name = 'a' OR process:command_line = 'x']",
    "[process:name = 'a' AND process:command_line = 'x']",
    "[(process:name = 'a' AND process:command_line LIKE 'x%') OR process:pid = 4]",
    "[process:x_nowhere = 'a' OR (process:pid > 4 AND process:name MATCHES '^c')]",
    "[process:command_line = 'x'] OR [process:name != 'b']",
    "[process:name NOT IN ('a', 'b') OR process:parent_ref.name = 'explorer.exe']",
    "[ipv4-addr:value ISSUBSET '10.0.0.0/8' OR ipv4-addr:value = '10.0.0.1']",
]
KEPT = {
    ("mysql", PATTERNS[2]): ("[(process:name = 'a')]", ("process:command_line",)),
    ("mysql", PATTERNS[5]): (
        "[((process:pid > 4 AND process:name MATCHES '^c'))]",
        ("process:x_nowhere",),
    ),
    ("mysql", PATTERNS[8]): (
        "[(ipv4-addr:value = '10.0.0.1')]",
        ("ipv4-addr:value (IsSubSet)",),
    ),
}


@pytest.mark.parametrize("connector", sorted(OPTIONS))
@pytest.mark.parametrize("pattern", PATTERNS)
def test_what_is_kept_translates_as_the_whole_pattern(connector: str, pattern: str) -> None:
    logging.disable(logging.CRITICAL)  # stix-shifter logs each stripped field
    try:
        options = OPTIONS[connector]
        reach = reach_of(compile_pattern(pattern).parsed, connector_reach(connector, options))
        translate = StixTranslation().translate
        alone = translate(connector, "query", "{}", with_window(pattern, WINDOW), options)
        if reach.kept is None:
            assert alone["code"] == "mapping_error", alone
        else:
            kept = translate(connector, "query", "{}", with_window(reach.kept, WINDOW), options)
            assert kept["queries"] == alone["queries"]
        if (connector, pattern) in KEPT:
            assert (reach.kept, reach.unmapped) == KEPT[connector, pattern]
    finally:
        logging.disable(logging.NOTSET)


def test_the_cover_leaves_out_what_maps_nothing_and_narrows_what_maps_part() -> None:
    mysql = SourceReach(
        "lab", "mysql db:3306", "mysql", tuple(connector_reach("mysql", OPTIONS["mysql"]))
    )
    members = [
        ("m/a.yaml", "[process:name = 'a']"),
        ("m/b.yaml", "[process:command_line LIKE '%x%' AND process:name = 'b']"),
        ("m/c.yaml", PATTERNS[2].replace("'a'", "'c'")),
    ]
    cover = covering_fetch("process", "lab", members, mysql)
    assert cover.kind == OR
    assert cover.queries == ("[(process:name = 'a') OR ((process:name = 'c'))]",)
    assert (
        cover.reason
        == "the OR of 2 members' patterns in 1 queries (1 left out: their source maps none of it)"
    )
    assert cover.failed == (
        None,
        "m/b.yaml: data source 'lab' (mysql db:3306): query translation failed: mysql connector "
        "error => data mapping error : Unable to map the following STIX objects and properties: "
        "['process:command_line'] to data source fields\n"
        "  hint: check that the connector supports every object and operator used",
        None,
    )
    assert cover.narrowed == (None, None, "[(process:name = 'c')]")
    whole = covering_fetch("process", "lab", members[:1], mysql)
    assert (whole.failed, whole.narrowed) == ((), ())

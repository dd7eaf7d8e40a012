"""Issue 23, item 10: alert conditions and titles that read columns the fetched entity table
never has failed the first scheduled run; ``validate`` (the loader) now says so, at the line."""

from __future__ import annotations

import pytest

from huntline.book import parse_book
from huntline.book.sco_properties import column_problem
from huntline.errors import BookError

# The shape of the library's Windows process books (no apply): the misspelt columns are the
# kind a hunter writes from memory of Sysmon field names.
BOOK = """\
id: 4a9a1f0e-2d0c-4f3e-9a55-6a0f3c9e1b21
title: comsvcs MiniDump
steps:
  - get: procs
    entity: process
    from: file://hunts/data/sample_endpoint_bundle.json
    where: "[process:command_line LIKE '%comsvcs%']"
alert:
  on: procs
  when: exists(command_line) and ParentImage != 'explorer.exe'
  title: "{proces_name} dumped memory ({parent_ref.nme})"
  fields: [pid, binary_ref.parent_directory_ref.path, parent_ref.command_line]
  group_by: [parent_ref.pid]
  dedup: [x_unique_id, hashes.MD5]
"""


def test_columns_a_process_table_never_has_are_book_problems() -> None:
    with pytest.raises(BookError) as caught:
        parse_book(BOOK, "hunts/dump.yaml")
    assert caught.value.problems == [
        "hunts/dump.yaml:10 alert.when: column 'ParentImage': a process has no property "
        "'ParentImage', so the alert can never read it",
        "hunts/dump.yaml:11 alert.title: column 'proces_name': a process has no property "
        "'proces_name', so the alert can never read it",
        "hunts/dump.yaml:11 alert.title: column 'parent_ref.nme': a process (the parent_ref of "
        "a process) has no property 'nme' (did you mean 'parent_ref.name'?), so the alert can "
        "never read it",
        "hunts/dump.yaml:14 alert.dedup[1]: column 'hashes.MD5': a process has no property "
        "'hashes', so the alert can never read it",
    ]


def test_a_book_with_apply_is_left_to_run_time() -> None:
    text = BOOK.replace("alert:", "  - apply: docker://susp_scoring\n    on: procs\nalert:")
    assert parse_book(text, "hunts/dump.yaml").alert is not None


def test_a_custom_entity_type_is_left_to_the_data() -> None:
    text = BOOK.replace("entity: process", "entity: x-oca-event").replace(
        "[process:command_line LIKE '%comsvcs%']", "[x-oca-event:action = 'x']"
    )
    assert parse_book(text, "hunts/dump.yaml").alert is not None


@pytest.mark.parametrize(
    "entity, column",
    [
        ("process", "binary_ref.parent_directory_ref.path"),
        ("process", "creator_user_ref.user_id"),
        ("process", "x_suspicious_score"),
        ("process", "first_observed"),
        ("network-traffic", "dst_ref.value"),
        ("network-traffic", "src_byte_count"),
        ("file", "hashes.'SHA-256'"),
        ("process", "image_ref.name"),  # STIX 2.1's name for 2.0's binary_ref
    ],
)
def test_columns_a_table_can_have_pass(entity: str, column: str) -> None:
    assert column_problem(entity, column) is None

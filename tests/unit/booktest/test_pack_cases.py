"""``huntline test`` over a pack: its members' cases through one fetch, each case alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline import cli
from huntline.book.files import hunt_files
from huntline.booktest.pack_cases import by_pack, run_pack_cases
from huntline.booktest.spec import load_tests
from huntline.packs import load_pack

MEMBER = """\
id: {id}
title: {name}
steps:
  - get: procs
    entity: process
    from: edr
    where: "[process:type = 'process']"
alert:
  on: procs
  when: icontains(command_line, '{word}')
  severity: high
  title: "{name} {{command_line}}"
"""
TESTS = """\
cases:
  - name: alerts
    data:
      procs:
        objects:
          - - {{type: process, name: {name}.exe, command_line: '{name} {word}'}}
          - - {{type: process, name: {name}.exe, command_line: 'again {word}'}}
    expect: {{alerts: {alerts}, all: ["severity == 'high'"]}}
  - name: the other rule's row does not
    data:
      procs:
        objects:
          - - {{type: process, name: {name}.exe, command_line: '{name} {other}'}}
    expect: {{alerts: 0}}
  - name: nothing at all
    expect: {{alerts: 0}}
"""
PACK = """\
pack: test-pack
title: a pack under test
source: edr
entity: process
window: {last: 1h}
members: members/
"""


def write_pack(folder: Path, *, cmd_alerts: int = 2) -> Path:
    members = folder / "members"
    members.mkdir()
    rules = {
        "cmd": ("11111111-1111-4111-8111-111111111111", "whoami", "vssadmin", cmd_alerts),
        "net": ("22222222-2222-4222-8222-222222222222", "vssadmin", "whoami", 2),
    }
    for name, (ident, word, other, alerts) in rules.items():
        text = MEMBER.format(id=ident, name=name, word=word)
        (members / f"{name}.yaml").write_text(text)
        tests = TESTS.format(name=name, word=word, other=other, alerts=alerts)
        (members / f"{name}.tests.yaml").write_text(tests)
    (folder / "p.pack.yaml").write_text(PACK)
    return folder / "p.pack.yaml"


def test_every_case_runs_through_one_fetch_and_sees_only_its_rows(tmp_path: Path) -> None:
    """The cases share one bundle and both members take every process, yet each case sees
    only its own rows: the negative cases hold the other member's word, and pass."""
    pack = load_pack(write_pack(tmp_path))
    files = [load_tests(path) for path in sorted((tmp_path / "members").glob("*.tests.yaml"))]
    results = run_pack_cases(pack, files)
    assert [(Path(r.book).name, r.case, r.passed) for r in results] == [
        ("cmd.yaml", "alerts", True),
        ("cmd.yaml", "the other rule's row does not", True),
        ("cmd.yaml", "nothing at all", True),
        ("net.yaml", "alerts", True),
        ("net.yaml", "the other rule's row does not", True),
        ("net.yaml", "nothing at all", True),
    ]
    assert results[0].alerts == ["cmd cmd whoami", "cmd again whoami"]


def test_a_broken_expectation_fails_with_the_lone_books_diff(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path, cmd_alerts=3))
    files = [load_tests(tmp_path / "members" / "cmd.tests.yaml")]
    [failed, *others] = run_pack_cases(pack, files)
    assert not failed.passed and all(result.passed for result in others)
    assert failed.differences == ["- alerts: 3", "+ alerts: 2"]


def test_huntline_test_finds_packs_in_folders_and_runs_their_members_there(
    tmp_path: Path,
) -> None:
    path = write_pack(tmp_path)
    (tmp_path / "alone.tests.yaml").write_text("book: alone.yaml\ncases: [{name: x, expect: {}}]\n")
    assert hunt_files([tmp_path])[1] == [path]
    files = [load_tests(p) for p in sorted(tmp_path.rglob("*.tests.yaml"))]
    grouped, alone = by_pack([load_pack(path)], files)
    assert [len(group) for _, group in grouped] == [2]
    assert [tests.path.name for tests in alone] == ["alone.tests.yaml"]


def test_validate_takes_a_folder_its_books_tests_and_packs_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_pack(tmp_path)
    assert cli.main(["validate", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"✓ {tmp_path}/members/cmd.tests.yaml",
        f"✓ {tmp_path}/members/cmd.yaml",
        f"✓ {tmp_path}/members/net.tests.yaml",
        f"✓ {tmp_path}/members/net.yaml",
        f"✓ {tmp_path}/p.pack.yaml: pack test-pack, 2 member(s), process from edr, "
        "fetched as or (1 query)",
    ]

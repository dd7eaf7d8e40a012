"""``huntline validate|compile|run|coverage|backfill`` take a pack wherever they take a book."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inline_books import pack_member, pack_text

from huntline.cli import main

WINDOW = "{last: 8h}"
SHELLS = "[process:name IN ('cmd.exe', 'powershell.exe')]"
EXPLORER = "[process:parent_ref.name = 'explorer.exe']"
SEQUENCE = "[process:name = 'a'] FOLLOWEDBY [process:name = 'b']"


def write_member(folder: Path, name: str, bundle: Path, where: str) -> Path:
    ident = {"shells": 1, "explorer": 2, "sequence": 3, "network": 4}[name]
    text = pack_member(f"{ident:08d}-0000-4000-8000-000000000000", name, bundle, where)
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def pack_file(repo_root: Path, tmp_path: Path) -> Path:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    members = tmp_path / "members"
    members.mkdir()
    write_member(members, "shells", bundle, SHELLS)
    write_member(members, "explorer", bundle, EXPLORER)
    path = tmp_path / "endpoint.pack.yaml"
    path.write_text(pack_text(bundle, "members/", WINDOW))
    return path


def test_validate_checks_the_pack_and_every_member(
    pack_file: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    assert main(["validate", str(pack_file)]) == 0
    assert main(["pack", "validate", str(pack_file)]) == 0
    shown = (
        f"✓ {pack_file}: pack endpoint-processes, 2 member(s), process from file://{bundle}, "
        "fetched as every entity (1 query)\n"
    )
    assert capsys.readouterr().out == shown * 2


def test_validate_names_every_bad_member_at_its_line(
    pack_file: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    folder = pack_file.parent / "members"
    sequence = write_member(folder, "sequence", bundle, SEQUENCE)
    elsewhere = write_member(folder, "network", pack_file.parent / "other.json", SHELLS)
    listed = pack_file.parent / "listed.yaml"  # told a pack by its pack: key
    listed.write_text(
        pack_text(
            bundle,
            "[members/shells.yaml, members/sequence.yaml, members/network.yaml, gone.yaml]",
            WINDOW,
        )
    )
    assert main(["validate", str(listed)]) == 1
    assert capsys.readouterr().err == (
        f"✗ {listed}: invalid pack\n"
        f"  {listed}: members: gone.yaml: no such book\n"
        f"  member {sequence}: 1 problem\n"
        f"    {sequence}:8 steps[0].where: the pack evaluates it locally and cannot: STIX "
        f'pattern "{SEQUENCE}": "{SEQUENCE}" cannot be evaluated locally: FOLLOWEDBY relates '
        "several observations\n"
        f"  member {elsewhere}: 1 problem\n"
        f"    {elsewhere}:7 steps[0].from: reads file://{pack_file.parent}/other.json; the pack "
        f"reads file://{bundle}\n"
        "  hint: every member has one get step with the pack's entity and source\n"
    )


def test_compile_shows_the_one_fetch_and_the_members(
    pack_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    window = ["--start", "2024-06-03T00:00:00Z", "--stop", "2024-06-04T00:00:00Z"]
    assert main(["compile", str(pack_file), *window, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["fetch"]["cover"] == "every entity"
    assert plan["fetch"]["queries"] == [
        "[process:type = 'process' OR process:name LIKE '%'] START t'2024-06-03T00:00:00.000Z' "
        "STOP t'2024-06-04T00:00:00.000Z'"
    ]
    assert [(m["title"], m["selects"]) for m in plan["members"]] == [
        ("explorer", EXPLORER),
        ("shells", SHELLS),
    ]
    assert main(["compile", str(pack_file), *window]) == 0
    text = capsys.readouterr().out
    assert text.startswith(
        "Endpoint process rules (endpoint-processes): one fetch of process from file://"
    )
    assert "as every entity:" in text and "2 member(s), each over the fetched rows" in text


def test_run_coverage_and_backfill_of_a_pack(
    pack_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = (pack_file.parent / "store").as_uri()
    window = ["--start", "2024-06-03T08:00:00Z", "--stop", "2024-06-03T16:00:00Z"]
    args = ["run", str(pack_file), *window, "--storage", storage, "--json"]
    assert main([*args, "--dry-run"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["fetched"]["cover"] == "every entity"
    assert {m["title"] for m in record["members"] if m["alerts"]} == {"explorer", "shells"}
    coverage = ["coverage", str(pack_file), "--storage", storage, "--json"]
    assert main(coverage) == 0
    assert json.loads(capsys.readouterr().out)["covered"] == []  # a dry run covers nothing
    assert main(["pack", "run", str(pack_file), *window, "--storage", storage]) == 0
    assert capsys.readouterr().out.startswith("endpoint-processes: one fetch (every entity, ")
    backfill = ["backfill", str(pack_file), "--from", "2024-06-03T00:00:00Z"]
    assert main([*backfill, "--to", "2024-06-04T00:00:00Z", "--storage", storage]) == 0
    assert capsys.readouterr().out == (
        f"backfill of {pack_file}: 2 window(s) run, 1 already covered, 0 failed; pack runs in "
        "this process (huntline runs list)\n"
    )
    assert main(coverage) == 0
    assert json.loads(capsys.readouterr().out) == {
        "hunt": "endpoint-processes",
        "covered": [["2024-06-03T00:00:00+00:00", "2024-06-04T00:00:00+00:00"]],
        "gaps": [],
    }


def test_a_pack_takes_no_indicators(pack_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(pack_file), "--indicators", '{"ipv4": ["1.2.3.4"]}']) == 1
    assert capsys.readouterr().err == (
        f"error: {pack_file}: --indicators fills one book's {{{{ intel.TYPE }}}} patterns; a "
        "pack takes none\n  hint: run the retro-hunt on the member book\n"
    )


def test_validate_names_members_their_stix_shifter_source_cannot_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """mysql maps no process:command_line (only its translation tables are read: no server)."""
    monkeypatch.setenv("STIXSHIFTER_LAB_CONNECTOR", "mysql")
    connection = {"host": "db.example", "port": 3306, "database": "hunt", "options": {"table": "e"}}
    monkeypatch.setenv("STIXSHIFTER_LAB_CONNECTION", json.dumps(connection))
    monkeypatch.setenv("STIXSHIFTER_LAB_CONFIG", json.dumps({"auth": {"username": "u"}}))
    members = tmp_path / "members"
    members.mkdir()
    for name, where in (
        ("shells", SHELLS),
        ("explorer", "[process:command_line LIKE '%explorer%']"),
        ("sequence", "[process:name = 'a' OR process:command_line = 'b']"),
    ):
        path = write_member(members, name, tmp_path, where)
        path.write_text(path.read_text().replace(f"file://{tmp_path}", "lab"))
    pack = tmp_path / "lab.pack.yaml"
    pack.write_text(pack_text("", "members/", WINDOW).replace("file://", "lab"))
    assert main(["validate", str(pack)]) == 0
    shown = capsys.readouterr()
    assert shown.out.splitlines()[0] == (
        f"✓ {pack}: pack endpoint-processes, 3 member(s), process from lab, fetched as or (1 query)"
    )
    assert (
        f"{members / 'explorer.yaml'}: data source 'lab' (mysql db.example:3306): query "
        "translation failed: mysql connector error => data mapping error : Unable to map the "
        "following STIX objects and properties: ['process:command_line'] to data source "
        "fields; each run reports this member failed"
    ) in " ".join((shown.out + shown.err).split())
    assert (
        f"{members / 'sequence.yaml'}: data source 'lab' maps only part of the pattern; it "
        "fetches [(process:name = 'a')], in a pack as alone"
    ) in " ".join((shown.out + shown.err).split())

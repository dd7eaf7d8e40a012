"""A rule pack deploys as one deployment on its own schedule, in place of its members' own, and
its scheduled runs get a book's gap-free windows from the pack's coverage record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from huntline.errors import PackError
from huntline.packs import load_pack
from huntline.schedule.coverage import record_coverage
from huntline.schedule.ownership import project_of
from huntline.schedule.pack_window import decide_pack_window
from huntline.schedule.specs import load_specs
from huntline.storage import open_store
from huntline.window import Window

BOOK = """\
id: {id}
title: {title}
window: {{last: 1h}}
schedule: {{cron: "15 * * * *"}}
steps:
  - get: procs
    entity: process
    from: edr
    where: "[process:name = '{title}.exe']"
alert:
  on: procs
  when: exists(name)
  title: "{title} {{name}}"
"""
PACK = """\
pack: windows-processes
title: Windows process rules
source: edr
entity: process
window: {last: 10m}
schedule: {cron: "*/5 * * * *", timezone: UTC}
members: ../rules/
"""
IDS = [f"{n}{n}{n}{n}{n}{n}{n}{n}-1111-4111-8111-111111111111" for n in range(1, 5)]


@pytest.fixture
def hunts(tmp_path: Path) -> Path:
    """hunts/: one plain book, a pack over three member books in hunts/rules/."""
    folder = tmp_path / "hunts"
    (folder / "rules").mkdir(parents=True)
    (folder / "packs").mkdir()
    (folder / "plain.yaml").write_text(BOOK.format(id=IDS[0], title="plain"))
    for ident, title in zip(IDS[1:], ("mimikatz", "psexec", "rubeus"), strict=True):
        (folder / "rules" / f"{title}.yaml").write_text(BOOK.format(id=ident, title=title))
    (folder / "packs" / "windows.pack.yaml").write_text(PACK)
    return folder


def test_a_pack_is_one_deployment_and_its_members_have_none(
    hunts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(hunts.parent)
    project = project_of(Path("hunts"))
    specs = {spec.name: spec for spec in load_specs(Path("hunts"), hunts.parent, project)}
    assert sorted(specs) == ["plain", "windows-processes"]
    pack = specs["windows-processes"]
    assert (pack.flow, pack.cron, pack.timezone, pack.concurrency_limit) == (
        "pack", "*/5 * * * *", "UTC", 1,
    )  # fmt: skip
    assert pack.parameters == {"pack": "hunts/packs/windows.pack.yaml", "scheduled": True}
    assert pack.tags == ["huntline", "pack"]
    assert pack.description == (
        "Windows process rules (hunts/packs/windows.pack.yaml): a rule pack of 3 member book(s); "
        "each run fetches process from edr once per window, then every member raises its own "
        "alerts over that table, as if it had run alone"
    )
    # no flows/pack.py under this root: the installed package's flow
    assert pack.entrypoint == "huntline.prefect.pack_flow:pack"
    other = load_specs(hunts, hunts.parent, project_of(hunts, "team-b"))
    assert [spec.name for spec in other] == ["team-b-plain", "team-b-windows-processes"]
    assert other[1].tags == ["huntline", "huntline-project:team-b", "pack"]


def test_deploying_the_members_folder_alone_deploys_each_book(hunts: Path) -> None:
    specs = load_specs(hunts / "rules", hunts.parent)
    assert [spec.name for spec in specs] == ["mimikatz", "psexec", "rubeus"]


def test_a_scheduled_pack_needs_a_look_back(hunts: Path) -> None:
    path = hunts / "packs" / "windows.pack.yaml"
    path.write_text(
        PACK.replace("{last: 10m}", '{start: "2024-01-01T00:00:00Z", stop: "2024-01-02T00:00:00Z"}')
    )
    with pytest.raises(PackError) as error:
        load_pack(path)
    assert "a scheduled pack needs a relative window (window: {last: 35m}), its look-back" in str(
        error.value
    )


def test_scheduled_pack_windows_catch_up_from_the_pack_coverage(
    hunts: Path, tmp_path: Path
) -> None:
    pack = load_pack(hunts / "packs" / "windows.pack.yaml")
    store = open_store((tmp_path / "store").as_uri())
    at = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
    first = decide_pack_window(pack, store, now=at + timedelta(seconds=7), scheduled_at=at)
    # 10m look-back + the default 5m overlap, ending at the scheduled time, not at now
    assert first.window == Window(at - timedelta(minutes=15), at)
    assert first.skip is None and first.decided.kind == "scheduled"
    record_coverage(store, "windows-processes", first.window)
    late = at + timedelta(minutes=40)  # seven runs missed: this one catches the gap up
    caught = decide_pack_window(pack, store, now=late, scheduled_at=late)
    assert caught.window == Window(at, late)
    assert caught.decided.describe().endswith(
        f"; it catches up the gap [{at.isoformat()}, {(late - timedelta(minutes=15)).isoformat()})"
    )
    record_coverage(store, "windows-processes", caught.window)
    again = decide_pack_window(pack, store, now=late, scheduled_at=late - timedelta(minutes=5))
    assert again.skip is not None and "already covered" in again.skip
    given = decide_pack_window(pack, store, now=late, start=at, stop=late)
    assert (given.window, given.decided.kind, given.skip) == (Window(at, late), "given", None)
    unscheduled = decide_pack_window(pack, store, now=late)
    assert unscheduled.window == Window(late - timedelta(minutes=10), late)
    assert unscheduled.decided.describe().startswith("the pack's window [")

"""A member of a pack can be replayed over what the pack run stored for it: its get output
records its own query (answered by selecting from the pack's fetch), as its own run would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from huntline.packs import load_pack, run_pack
from huntline.replay import replay

START, STOP = datetime(2024, 6, 3, tzinfo=UTC), datetime(2024, 6, 4, tzinfo=UTC)
MEMBER = """\
id: 11111111-1111-4111-8111-111111111111
title: shells
window: {{last: 24h}}
steps:
  - get: procs
    entity: process
    from: file://{bundle}
    where: "[process:name IN ('cmd.exe', 'powershell.exe')]"
alert:
  on: procs
  when: exists(name)
  title: "shell {{name}} {{pid}}"
  dedup: [name, pid]
"""
PACK = """\
pack: endpoint-processes
title: Endpoint process rules
source: file://{bundle}
entity: process
window: {{last: 24h}}
members: [shells.yaml]
"""


def test_a_member_replays_over_the_pack_run(repo_root: Path, tmp_path: Path) -> None:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    (tmp_path / "shells.yaml").write_text(MEMBER.format(bundle=bundle))
    (tmp_path / "p.pack.yaml").write_text(PACK.format(bundle=bundle))
    storage = (tmp_path / "store").as_uri()
    report = run_pack(load_pack(tmp_path / "p.pack.yaml"), storage, STOP, start=START, stop=STOP)
    [member] = report.members
    assert member.alerts
    replayed = replay(tmp_path / "shells.yaml", storage, START, STOP).record()
    assert (replayed["replayed"], replayed["not_replayable"]) == (1, 0)
    assert replayed["unchanged"] == len(member.alerts) and replayed["new"] == 0

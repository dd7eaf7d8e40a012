"""Rule packs: one fetch, members evaluated locally, each with the alerts it raises alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from inline_books import pack_member, pack_text

from huntline.compile import prepare_hunt
from huntline.errors import PackError
from huntline.packs import load_pack, run_pack
from huntline.schedule.coverage import load_coverage
from huntline.steps import finish
from huntline.steps.context import RunContext, StepOutput
from huntline.storage import open_store
from huntline.window import Window

START, STOP = datetime(2024, 6, 3, tzinfo=UTC), datetime(2024, 6, 4, tzinfo=UTC)
WINDOW = '{start: "2024-06-03T00:00:00Z", stop: "2024-06-04T00:00:00Z"}'
GATE = "  - expect: procs\n    checks:\n      - rows: {min: 1000000}\n"


def member(folder: Path, name: str, bundle: Path, where: str, **kw: str) -> Path:
    ident = {"shells": "11111111-1111-4111-8111-111111111111",
             "explorer": "22222222-2222-4222-8222-222222222222",
             "gated": "33333333-3333-4333-8333-333333333333",
             "network": "44444444-4444-4444-8444-444444444444"}[name]  # fmt: skip
    text = pack_member(
        ident, name, bundle, where, entity=kw.get("entity", "process"), extra=kw.get("extra", "")
    )
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def pack_dir(repo_root: Path, tmp_path: Path) -> Path:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    folder = tmp_path / "members"
    folder.mkdir()
    member(folder, "shells", bundle, "[process:name IN ('cmd.exe', 'powershell.exe')]")
    member(folder, "explorer", bundle, "[process:parent_ref.name = 'explorer.exe']")
    member(folder, "gated", bundle, "[process:name = 'cmd.exe']", extra=GATE)
    (tmp_path / "p.pack.yaml").write_text(pack_text(bundle, window=WINDOW, members="members/"))
    return tmp_path


def alone(book: Path, storage: str) -> tuple[str, ...]:
    """The alert ids of ``book`` run by itself (its own fetch), as the flow runs it."""
    hunt = prepare_hunt(book, STOP, START, STOP)
    context = RunContext(
        storage=storage, hunt_id=str(hunt.book.id), run_date="d", flow_run_id="alone"
    )
    outputs: dict[str, StepOutput] = {}
    for planned in hunt.plan.steps:
        inputs = {var: outputs[step].tables[var] for var, step in planned.inputs.items()}
        outputs[planned.id] = planned.action.run(
            context, planned.id, planned.step, inputs, hunt.windows.get(planned.id)
        )
    alerts = finish.alert_step(
        context, hunt.book, outputs["00_get"].tables["procs"], STOP, hunt.windows["00_get"]
    )
    return tuple(alert.alert_id for alert in alerts.alerts)


def test_members_raise_what_they_raise_alone_and_one_failing_stops_none(
    pack_dir: Path,
) -> None:
    pack = load_pack(pack_dir / "p.pack.yaml")
    storage = (pack_dir / "store").as_uri()
    report = run_pack(pack, storage, STOP, dry_run=True, run_id="run1")
    by_title = {m.title: m for m in report.members}
    assert sorted(by_title) == ["explorer", "gated", "shells"]
    assert report.fetched.rows >= by_title["explorer"].rows + by_title["shells"].rows
    for name in ("shells", "explorer"):
        result = by_title[name]
        assert result.error is None and result.alerts
        assert result.alerts == alone(
            pack_dir / "members" / f"{name}.yaml", (pack_dir / "alone").as_uri()
        )
    gated = by_title["gated"]
    assert gated.error is not None and "rows" in gated.error and not gated.alerts
    store = open_store(storage)
    fetched = [k for k in store.list("endpoint-processes/") if k.endswith(".parquet")]
    assert fetched == ["endpoint-processes/2024-06-04/run1/00_get/process.parquet"]
    assert store.exists("11111111-1111-4111-8111-111111111111/2024-06-04/run1/manifest.json")


def test_a_failing_member_keeps_its_own_gap_and_not_the_packs(pack_dir: Path) -> None:
    """The fetch succeeded: the pack's window is covered (no catch-up for every member), each
    member that succeeded covers it too, and the failed member's own record shows the gap."""
    storage = (pack_dir / "store").as_uri()
    report = run_pack(load_pack(pack_dir / "p.pack.yaml"), storage, STOP, run_id="run1")
    assert [m.title for m in report.members if m.error] == ["gated"]
    store, window = open_store(storage), Window(START, STOP)
    assert load_coverage(store, "endpoint-processes").gaps(window) == []
    assert load_coverage(store, "11111111-1111-4111-8111-111111111111").gaps(window) == []
    assert load_coverage(store, "33333333-3333-4333-8333-333333333333").gaps(window) == [window]


def test_members_that_disagree_are_all_named(pack_dir: Path, repo_root: Path) -> None:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    folder = pack_dir / "members"
    path = member(folder, "network", bundle, "[network-traffic:dst_port = 22]")
    text = path.read_text().replace("entity: process", "entity: network-traffic")
    path.write_text(
        text.replace("exists(name)", "exists(dst_port)")
        .replace("[name, pid]", "[dst_port]")
        .replace("{name} {pid}", "{dst_port}")
    )
    listed = pack_dir / "l.pack.yaml"
    listed.write_text(
        pack_text(bundle, window=WINDOW, members="[members/network.yaml, nowhere.yaml]")
    )
    with pytest.raises(PackError) as error:
        load_pack(listed)
    assert str(error.value) == (
        f"{listed}: invalid pack\n"
        f"  {listed}: members: nowhere.yaml: no such book\n"
        f"  member {folder / 'network.yaml'}: 1 problem\n"
        f"    {folder / 'network.yaml'}:6 steps[0].entity: fetches network-traffic; the pack "
        "fetches process\n"
        "  hint: every member has one get step with the pack's entity and source"
    )


def test_cli_runs_a_pack_and_exits_1_when_a_member_failed(
    pack_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from huntline.cli import main

    pack = str(pack_dir / "p.pack.yaml")
    assert main(["pack", "validate", pack]) == 0
    storage = (pack_dir / "store").as_uri()
    capsys.readouterr()
    code = main(["pack", "run", pack, "--storage", storage, "--dry-run", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [m["title"] for m in record["members"] if m["error"]] == ["gated"]
    assert all(m["alerts"] for m in record["members"] if not m["error"])

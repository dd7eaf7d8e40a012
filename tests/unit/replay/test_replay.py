"""``huntline replay``: a book edited after its runs, re-evaluated over what they stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from huntline.cli import main
from huntline.compile import prepare_hunt
from huntline.errors import ReplayError
from huntline.replay import replay
from huntline.steps import finish
from huntline.steps.context import RunContext, StepOutput
from huntline.storage import open_store

BOOK = """\
id: 3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f
title: Shells
window: {{last: 24h}}
steps:
  - get: procs
    entity: process
    from: file://{bundle}
{where}alert:
  on: procs
  when: "{when}"
  severity: high
  title: "Shell {{name}} ({{pid}})"
  dedup: [name, pid]
"""
EVERY = ""
SHELLS = "    where: \"[process:name IN ('cmd.exe', 'powershell.exe')]\"\n"


def write_book(path: Path, bundle: Path, where: str, when: str = "exists(name)") -> Path:
    path.write_text(BOOK.format(bundle=bundle, where=where, when=when))
    return path


def past_run(book: Path, storage: str, start: datetime, stop: datetime, run_id: str) -> None:
    """A run of ``book`` over ``[start, stop)`` as the flow would store it (plain calls)."""
    hunt = prepare_hunt(book, stop, start, stop)
    context = RunContext(
        storage=storage, hunt_id=str(hunt.book.id), run_date=stop.date().isoformat(),
        flow_run_id=run_id, dry_run=True,
    )  # fmt: skip
    outputs: dict[str, StepOutput] = {}
    for planned in hunt.plan.steps:
        inputs = {var: outputs[step].tables[var] for var, step in planned.inputs.items()}
        outputs[planned.id] = planned.action.run(
            context, planned.id, planned.step, inputs, hunt.windows.get(planned.id)
        )
    window = hunt.windows["00_get"]
    alerts = finish.alert_step(context, hunt.book, outputs["00_get"].tables["procs"], stop, window)
    finish.write_manifest(
        context, book=hunt.loaded, windows=hunt.windows,
        steps=list(outputs.values()), alerts=alerts, status="completed",
    )  # fmt: skip


@pytest.fixture
def runs(repo_root: Path, tmp_path: Path) -> tuple[Path, str]:
    """Two past daily runs of the book fetching every process, alerting on shells."""
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    storage = (tmp_path / "store").as_uri()
    book = write_book(tmp_path / "old.yaml", bundle, EVERY, "name in ['cmd.exe', 'powershell.exe']")
    day = datetime(2024, 6, 4, tzinfo=UTC)  # the sample bundle holds 2024-06-03
    for index in range(2):
        past_run(
            book, storage, day + timedelta(days=index - 1), day + timedelta(days=index), f"r{index}"
        )
    return bundle, storage


def test_an_edited_pattern_is_replayed_over_every_entity_fetches(
    runs: tuple[Path, str], tmp_path: Path
) -> None:
    bundle, storage = runs
    edited = write_book(tmp_path / "new.yaml", bundle, SHELLS.replace(", 'powershell.exe'", ""))
    report = replay(
        edited, storage, datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 5, tzinfo=UTC)
    )
    assert [w.run_id for w in report.windows] == ["r0", "r1"]
    assert all(w.replayable for w in report.windows)
    day = report.windows[0]
    assert day.then and day.gone and not day.new, "powershell alerts are gone, cmd.exe ones stay"
    assert all("powershell" in day.titles[key] for key in day.gone)
    assert all("cmd.exe" in day.titles[key] for key in day.unchanged)
    assert len(day.unchanged) + len(day.gone) == len(day.then)
    store = open_store(storage)
    assert not any("replay" in key for key in store.list("")), "nothing written to the store"


def test_a_wider_pattern_than_what_was_stored_is_not_replayable(
    repo_root: Path, tmp_path: Path
) -> None:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    storage = (tmp_path / "store").as_uri()
    old = write_book(tmp_path / "old.yaml", bundle, SHELLS)
    stop = datetime(2024, 6, 4, tzinfo=UTC)
    past_run(old, storage, stop - timedelta(days=1), stop, "r0")
    same = replay(old, storage, stop - timedelta(days=7), stop)
    assert same.windows[0].replayable and same.windows[0].new == [] and same.windows[0].gone == []
    wider = write_book(tmp_path / "new.yaml", bundle, EVERY)
    report = replay(wider, storage, stop - timedelta(days=7), stop)
    assert report.windows[0].reason == (
        "procs: the stored pattern is not provably as wide as the book's (neither the same "
        "pattern nor every entity of the type)"
    )


def test_cli_json_and_errors(
    runs: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, storage = runs
    edited = write_book(tmp_path / "new.yaml", bundle, SHELLS)
    code = main(
        [
            "replay",
            str(edited),
            "--from",
            "2024-06-01",
            "--to",
            "2024-06-05",
            "--storage",
            storage,
            "--json",
        ]
    )
    assert code == 0
    import json

    record = json.loads(capsys.readouterr().out)
    assert record["replayed"] == 2 and record["not_replayable"] == 0
    assert record["new"] == 0 and record["gone"] == 0 and record["unchanged"] > 0
    with pytest.raises(ReplayError) as error:
        replay(edited, storage, datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 2, tzinfo=UTC))
    assert str(error.value) == (
        "no stored run of hunt 3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f (Shells) has a window within "
        f"2020-01-01T00:00:00+00:00 .. 2020-01-02T00:00:00+00:00 in {open_store(storage).root}\n"
        "  hint: list the stored runs with `huntline runs list BOOK`"
    )

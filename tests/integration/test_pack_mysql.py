"""A pack over stix-shifter's real ``mysql`` connector (MariaDB from conftest's ``mariadb``):
members whose comparisons the connector cannot map do in the pack exactly what they do alone.

mysql maps no ``process:command_line`` and no ``process:binary_ref.parent_directory_ref.path``
(its results still carry the latter: every row's binary is in ``C:\\Windows\\System32``). So:
``cmdline`` fails alone with stix-shifter's mapping error and fails in the pack with the same
words and its file; ``either`` alone fetches only its mapped side (powershell.exe), and must
not pick up in the pack the cmd.exe rows that ``names`` fetched; ``names`` is unaffected.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from huntline.compile import prepare_hunt
from huntline.errors import DataSourceError
from huntline.packs import load_pack, run_pack
from huntline.steps import finish
from huntline.steps.context import RunContext, StepOutput
from huntline.storage import key_of, open_store
from huntline.tables import read_table

# Every generated row (a day either side of conftest's window): mysql's connector binds the
# window to the last disjunct of an OR only (``a OR b AND (entry_time ...)``), alone and in a
# pack alike; a window holding every row keeps that apart from what this test is about.
START, STOP = datetime(2021, 2, 27, tzinfo=UTC), datetime(2021, 3, 4, tzinfo=UTC)
BOOK = """\
id: {id}
title: {name}
window: {{last: 24h}}
steps:
  - get: procs
    entity: process
    from: lab
    where: "{where}"
alert:
  on: procs
  when: exists(pid)
  severity: high
  title: "{name} {{name}} {{pid}}"
  dedup: [pid]
"""
MEMBERS = {
    "names": ("[process:name = 'cmd.exe']", "11111111-1111-4111-8111-111111111111"),
    "cmdline": ("[process:command_line LIKE '%cmd%']", "22222222-2222-4222-8222-222222222222"),
    "either": (
        "[process:name = 'powershell.exe' OR "
        "process:binary_ref.parent_directory_ref.path = 'C:\\\\\\\\Windows\\\\\\\\System32']",
        "33333333-3333-4333-8333-333333333333",
    ),
}
PACK = """\
pack: mysql-processes
title: Processes from MariaDB
source: lab
entity: process
window: {start: "2021-02-27T00:00:00Z", stop: "2021-03-04T00:00:00Z"}
members: [names.yaml, cmdline.yaml, either.yaml]
"""

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture
def lab(mariadb: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for part, value in (
        ("CONNECTOR", "mysql"),
        ("CONNECTION", json.dumps(mariadb.connection())),
        ("CONFIG", json.dumps(mariadb.config())),
    ):
        monkeypatch.setenv(f"STIXSHIFTER_LAB_{part}", value)
    for name, (where, ident) in MEMBERS.items():
        (tmp_path / f"{name}.yaml").write_text(BOOK.format(id=ident, name=name, where=where))
    (tmp_path / "p.pack.yaml").write_text(PACK)
    return tmp_path


def alone(book: Path, storage: str) -> tuple[list[int], tuple[str, ...]]:
    """The pids fetched by ``book`` run by itself (its own query) and its alert ids."""
    hunt = prepare_hunt(book, STOP, START, STOP)
    context = RunContext(storage=storage, hunt_id=str(hunt.book.id), run_date="d", flow_run_id="a")
    outputs: dict[str, StepOutput] = {}
    for planned in hunt.plan.steps:
        inputs = {var: outputs[step].tables[var] for var, step in planned.inputs.items()}
        outputs[planned.id] = planned.action.run(
            context, planned.id, planned.step, inputs, hunt.windows.get(planned.id)
        )
    table = outputs["00_get"].tables["procs"]
    alerts = finish.alert_step(context, hunt.book, table, STOP, hunt.windows["00_get"])
    pids = sorted(read_table(open_store(storage), table)["pid"].tolist())
    return pids, tuple(alert.alert_id for alert in alerts.alerts)


@pytest.mark.server
def test_unmapped_members_do_in_the_pack_what_they_do_alone(lab: Path, mariadb: Any) -> None:
    store = (lab / "store").as_uri()
    report = run_pack(load_pack(lab / "p.pack.yaml"), store, STOP, run_id="r")
    by_title = {m.title: m for m in report.members}
    where = f"mysql {mariadb.host}:{mariadb.port}"
    assert by_title["cmdline"].error == (
        f"{lab / 'cmdline.yaml'}: data source 'lab' ({where}): query translation failed: "
        "mysql connector error => data mapping error : Unable to map the following STIX objects "
        "and properties: ['process:command_line'] to data source fields\n"
        "  hint: check that the connector supports every object and operator used"
    )
    assert not by_title["cmdline"].alerts
    with pytest.raises(DataSourceError) as failed:
        alone(lab / "cmdline.yaml", (lab / "alone").as_uri())
    assert "['process:command_line'] to data source fields" in str(failed.value)
    assert (report.cover.kind, len(report.cover.queries)) == ("or", 1)
    assert "command_line" not in report.cover.where  # left out of the OR, not silently dropped

    pack_store = open_store(store)
    for name in ("names", "either"):
        member = by_title[name]
        assert member.error is None, member.error
        pids, alerts = alone(lab / f"{name}.yaml", (lab / "alone").as_uri())
        assert pids and member.rows == len(pids) and member.alerts == alerts
        manifest = json.loads(pack_store.get_bytes(key_of(pack_store, member.manifest or "")))
        ref = manifest["steps"][0]["tables"]["procs"]
        assert sorted(read_table(pack_store, ref["uri"])["pid"].tolist()) == pids
    assert by_title["either"].rows == 16  # powershell.exe only; not names' cmd.exe rows

"""The step functions of a run, over local storage and without Prefect: every kind's run
function in plan order, the alert step and the manifest, as the flow would call them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from huntline.book import ApplyStep
from huntline.compile import PreparedHunt, prepare_hunt
from huntline.manifest import MANIFEST_VERSION
from huntline.run_history import read_manifest
from huntline.steps import finish
from huntline.steps.context import RunContext, StepOutput
from huntline.storage import open_store
from huntline.tables import read_table, write_table

NOW = datetime(2024, 6, 4, tzinfo=UTC)


@pytest.fixture
def hunt(repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PreparedHunt:
    """The sample hunt, its analytics run in process (python://), from the repository root."""
    monkeypatch.chdir(repo_root)
    text = (repo_root / "hunts/suspicious_processes.yaml").read_text()
    book = tmp_path / "book.yaml"
    book.write_text(text.replace("docker://susp_scoring", "python://susp_scoring"))
    return prepare_hunt(book, NOW)


def context_in(tmp_path: Path, dry_run: bool = True) -> RunContext:
    return RunContext(
        storage=(tmp_path / "store").as_uri(),
        hunt_id="h",
        run_date="2024-06-04",
        flow_run_id="r",
        dry_run=dry_run,
    )


def run_steps(hunt: PreparedHunt, context: RunContext) -> dict[str, StepOutput]:
    """The flow's DAG, run in order by plain calls."""
    outputs: dict[str, StepOutput] = {}
    for planned in hunt.plan.steps:
        inputs = {var: outputs[step].tables[var] for var, step in planned.inputs.items()}
        outputs[planned.id] = planned.action.run(
            context, planned.id, planned.step, inputs, hunt.windows.get(planned.id)
        )
    return outputs


def test_steps_alert_and_manifest_over_local_storage(hunt: PreparedHunt, tmp_path: Path) -> None:
    context = context_in(tmp_path)
    outputs = run_steps(hunt, context)
    store = open_store(context.storage)

    fetched, scored = outputs["00_get"].tables["procs"], outputs["01_apply"].tables["procs"]
    assert fetched.uri == store.uri("h/2024-06-04/r/00_get/procs.parquet")
    assert fetched.rows > 0 and scored.rows == fetched.rows
    assert "x_suspicious_score" in read_table(store, scored).columns
    assert outputs["01_apply"].image == "python://susp_scoring"
    assert store.exists("h/2024-06-04/r/01_apply/container.log")

    window = hunt.windows["00_get"]
    alerts = finish.alert_step(context, hunt.book, scored, NOW, window)
    frame = read_table(store, scored)
    assert len(alerts.alerts) == int((frame["x_suspicious_score"] >= 2).sum()) > 0
    assert alerts.alerts_jsonl_uri == store.uri("h/2024-06-04/r/alert/alerts.jsonl")
    assert alerts.evidence is not None and alerts.evidence.rows >= len(alerts.alerts)

    manifest_uri = finish.write_manifest(
        context,
        book=hunt.loaded,
        windows=hunt.windows,
        steps=list(outputs.values()),
        alerts=alerts,
        status="completed",
    )
    manifest = json.loads(store.get_bytes("h/2024-06-04/r/manifest.json"))
    assert manifest_uri == store.uri("h/2024-06-04/r/manifest.json")
    assert manifest["status"] == "completed" and manifest["dry_run"] is True
    assert manifest["windows"]["00_get"] == {
        "start": "2024-06-03T00:00:00+00:00",
        "stop": "2024-06-04T00:00:00+00:00",
    }
    assert [step["step_id"] for step in manifest["steps"]] == ["00_get", "01_apply", "02_expect"]
    gate = manifest["steps"][2]["gate"]
    assert gate["variable"] == "procs" and all(check["passed"] for check in gate["checks"])
    assert outputs["02_expect"].tables["procs"] == scored, "a gate passes its variable through"
    assert store.exists("h/2024-06-04/r/02_expect/gate.md")
    assert manifest["alerts"]["count"] == len(alerts.alerts)
    assert manifest["manifest_version"] == MANIFEST_VERSION
    typed = read_manifest(store, "h/2024-06-04/r/manifest.json")
    assert typed.steps == list(outputs.values()), "step outputs read back as they were written"
    assert typed.alerts is not None and typed.alerts.delivery == alerts.delivery


def test_apply_on_empty_inputs_runs_nothing(hunt: PreparedHunt, tmp_path: Path) -> None:
    context = context_in(tmp_path)
    empty = write_table(
        open_store(context.storage), "h/x/00_get/procs.parquet", pd.DataFrame({"id": []})
    )
    step = hunt.plan.steps[1].step
    assert isinstance(step, ApplyStep)
    output = finish.apply_step(context, "01_apply", step, {"procs": empty})
    assert output.tables == {"procs": empty}
    assert output.image == "python://susp_scoring" and output.image_id is None


def test_a_failed_run_is_summarised_in_one_line() -> None:
    from huntline.errors import FetchError

    assert finish.failure_summary(FetchError("bad bundle", hint="fix it")) == "bad bundle"
    assert finish.failure_summary(KeyError("x")) == "KeyError: 'x'"


def test_text_pids_lose_no_row_and_the_run_says_how_many_changed(
    hunt: PreparedHunt, repo_root: Path, tmp_path: Path
) -> None:
    """Issue 22: `"pid": "abc"` on the sample bundle's processes lost 32 of 64 rows, the
    children, with exit 0 and no word. Every row stays, and the step's output, its warning
    and the manifest count the 64 values that did not fit."""
    bundle = json.loads((repo_root / "hunts/data/sample_endpoint_bundle.json").read_text())
    for obj in bundle["objects"]:
        for sco in obj.get("objects", {}).values():
            if sco.get("type") == "process" and "pid" in sco:
                sco["pid"] = "abc"
    path = tmp_path / "text_pids.json"
    path.write_text(json.dumps(bundle))
    context = context_in(tmp_path).model_copy(update={"source": path.as_uri()})
    outputs = run_steps(hunt, context)
    fetched = outputs["00_get"]
    assert fetched.tables["procs"].rows == 64
    assert fetched.coerced == {"process.pid": 64}
    assert fetched.warnings == [
        "step 00_get (procs): process.pid: 64 values of process:pid were not integers: "
        "whole-number text became the number, anything else null with the raw value in "
        "x_pid_raw"
    ]
    frame = read_table(open_store(context.storage), outputs["01_apply"].tables["procs"])
    assert {"powershell.exe", "mimi.exe", "net.exe", "whoami.exe"} <= set(frame["name"])
    finish.write_manifest(
        context,
        book=hunt.loaded,
        windows=hunt.windows,
        steps=list(outputs.values()),
        alerts=None,
        status="completed",
    )
    manifest = json.loads(open_store(context.storage).get_bytes("h/2024-06-04/r/manifest.json"))
    assert manifest["steps"][0]["coerced"] == {"process.pid": 64}


def test_repeated_json_keys_are_named_and_counted(
    hunt: PreparedHunt, repo_root: Path, tmp_path: Path
) -> None:
    """Issue 22: a second "0" in an observation's objects hid mimi.exe behind a decoy, and a
    second "name" replaced a file's name, with exit 0 and no word (JSON keeps the last value).
    The last value is still read, as by every JSON reader, but the step's output, its warnings
    (bundle, observation and key) and the manifest say so."""
    bundle = json.loads((repo_root / "hunts/data/sample_endpoint_bundle.json").read_text())
    target = next(
        o for o in bundle["objects"] if o.get("objects", {}).get("0", {}).get("name") == "mimi.exe"
    )
    parts = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in target["objects"].items()]
    parts[1] = parts[1][:-1] + ', "name": "notepad.exe"}'
    decoy = {**target["objects"]["0"], "name": "notepad.exe", "command_line": "notepad.exe"}
    target["objects"] = "@objects@"
    text = json.dumps(bundle).replace(
        '"@objects@"', "{" + ", ".join([*parts, f'"0": {json.dumps(decoy)}']) + "}"
    )
    path = tmp_path / "repeated_keys.json"
    path.write_text(text)
    context = context_in(tmp_path).model_copy(update={"source": path.as_uri()})
    outputs = run_steps(hunt, context)
    fetched = outputs["00_get"]
    assert fetched.coerced == {"bundle.duplicate keys": 2}
    assert fetched.warnings == [
        "step 00_get (procs): bundle.duplicate keys: 2 keys were repeated within one JSON object "
        "of a bundle: as every JSON reader does, the last value was read and the earlier ones "
        "dropped (each is named in a warning)",
        f"STIX bundle {path}: {target['id']} has the key 'name' twice in objects.1: the last "
        "value was read, the earlier one dropped",
        f"STIX bundle {path}: {target['id']} has the key '0' twice in objects: the last value "
        "was read, the earlier one dropped",
    ]
    names = set(read_table(open_store(context.storage), fetched.tables["procs"])["name"])
    assert "notepad.exe" in names and "mimi.exe" not in names  # the last "0" was read
    finish.write_manifest(
        context,
        book=hunt.loaded,
        windows=hunt.windows,
        steps=list(outputs.values()),
        alerts=None,
        status="completed",
    )
    manifest = json.loads(open_store(context.storage).get_bytes("h/2024-06-04/r/manifest.json"))
    assert manifest["steps"][0]["coerced"] == {"bundle.duplicate keys": 2}
    assert manifest["steps"][0]["warnings"] == fetched.warnings


def test_a_failed_gate_stores_what_the_hunt_would_have_raised(
    hunt: PreparedHunt, tmp_path: Path
) -> None:
    """Issue 23: behind a failed gate the alerts are still evaluated and stored, marked gated,
    under gated/; nothing is delivered and the ledger is not touched."""
    context = context_in(tmp_path, dry_run=False)
    outputs = run_steps(hunt, context)
    store = open_store(context.storage)
    gated = finish.alert_step(
        context,
        hunt.book,
        outputs["01_apply"].tables["procs"],
        NOW,
        hunt.windows["00_get"],
        gated=True,
    )
    assert gated.gated and not gated.delivered and gated.delivery is None
    assert gated.alerts and all(alert.gated for alert in gated.alerts)
    assert gated.alerts_jsonl_uri == store.uri("h/2024-06-04/r/gated/alerts.jsonl")
    assert store.exists("h/2024-06-04/r/gated/evidence.parquet")
    assert not store.exists("h/2024-06-04/r/alert/alerts.jsonl")
    assert not list((tmp_path / "store" / "h").glob("ledger*")), "the ledger is not touched"
    finish.write_manifest(
        context,
        book=hunt.loaded,
        windows=hunt.windows,
        steps=list(outputs.values()),
        alerts=gated,
        status="failed",
        error="gate 02_expect on procs failed",
    )
    from huntline.run_history import manifest_keys, read_manifest, record_of

    [key] = manifest_keys(store)
    record = record_of(store, key, read_manifest(store, key))
    assert record.alerts == f"{len(gated.alerts)} gated"

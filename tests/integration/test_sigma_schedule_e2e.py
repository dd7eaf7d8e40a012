"""Issue 24's "done when", as a user meets it: ``huntline sigma convert`` of a real SigmaHQ rule
with a schedule, ``huntline deploy`` of the folder, the server's scheduler starting the book on
its cron, the run querying stix-shifter's ``stix_bundle`` connector (an OTRF recording served
over HTTP, its events dated now), and the alert carrying the rule's id, its level as the
severity and its ATT&CK tags."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from test_pack_deploy_e2e import finished, live_bundle

pytestmark = pytest.mark.server

RULE = "rules/windows/process_creation/proc_creation_win_esentutl_sensitive_file_copy.yml"
RULE_ID = "e7be6119-fc37-43f0-ad4f-1f3f99be2f9f"
DEPLOYMENT = "proc-creation-win-esentutl-sensitive-file-copy"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def source(shared_data: Path, tmp_path: Path) -> Iterator[str]:
    """The recordings (cmd_sam_copy_esentutl among them) over HTTP, dated a few seconds ago."""
    folder = tmp_path / "served"
    folder.mkdir()
    bundle = live_bundle(shared_data, datetime.now(UTC) - timedelta(seconds=5))
    (folder / "edr.json").write_text(json.dumps(bundle))
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/edr.json"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def project(repo_root: Path, tmp_path: Path) -> Path:
    """A checkout with huntline's hunt entrypoint and an empty hunts/ (convert fills it)."""
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    (root / "hunts").mkdir()
    shutil.copy(repo_root / "flows" / "hunt.py", root / "flows" / "hunt.py")
    return root


def scheduled_run(client: SyncPrefectClient, timeout: float) -> Any:
    """The deployment's earliest run that the scheduler made."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while datetime.now(UTC) < deadline:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[DEPLOYMENT]))
        )
        if runs:
            return min(runs, key=lambda run: run.expected_start_time)
        threading.Event().wait(1)
    raise TimeoutError(f"the scheduler made no run of {DEPLOYMENT} in {timeout:.0f} s")


def test_a_converted_rule_deploys_runs_on_schedule_and_alerts_as_the_rule(
    cli: Callable[..., subprocess.CompletedProcess[str]],
    client: SyncPrefectClient,
    worker: Path,
    project: Path,
    source: str,
    shared_data: Path,
    tmp_path: Path,
) -> None:
    rule = shared_data / "sigma" / RULE
    argv = ["--into", "hunts/sigma", "--source", source, "--schedule", "* * * * *"]
    converted = cli("sigma", "convert", str(rule), *argv, "--window", "5m")
    assert converted.returncode == 0, converted.stderr
    deployed = cli("deploy")
    assert deployed.returncode == 0, deployed.stderr
    deployment = client.read_deployment_by_name(f"hunt/{DEPLOYMENT}")
    assert [s.schedule.cron for s in deployment.schedules] == ["* * * * *"]  # type: ignore[union-attr]

    run = finished(client, scheduled_run(client, 75).id, 150)
    assert run.state.is_completed(), run.state
    [manifest] = (tmp_path / "store").glob(f"{RULE_ID}/*/{run.id}/manifest.json")
    record = json.loads(manifest.read_text())
    assert record["hunt"]["id"] == RULE_ID
    jsonl = Path(record["alerts"]["jsonl"].removeprefix("file://"))
    alerts = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
    # the Sysmon event 1 and the Security 4688 of the one esentutl.exe: two STIX processes
    assert alerts and {alert["hunt_id"] for alert in alerts} == {RULE_ID}
    assert {alert["severity"] for alert in alerts} == {"high"}  # the rule's level
    for alert in alerts:
        assert alert["title"] == "Copying Sensitive Files with Credential Data"
        assert {"attack.credential-access", "attack.t1003.002", "attack.t1003.003"} <= set(
            alert["tags"]
        )
        assert "esentutl" in str(alert["fields"]["command_line"]).lower()

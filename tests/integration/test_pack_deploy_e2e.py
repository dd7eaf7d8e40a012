"""A rule pack as a user meets it: ``huntline deploy`` of a folder holding a pack and its member
books registers one deployment (none per member); the server's scheduler starts it on its
``* * * * *`` schedule and ``huntline worker`` runs it; the run queries the stix-shifter source
(the ``stix_bundle`` connector over an OTRF recording served by a counting HTTP server) as
often as ONE member alone does; each member raises the alerts it raises when ``huntline run``
runs it alone (ids, titles, severity, tags); a member that fails fails alone and is named in the
run's state, and the run publishes a table artifact with one row per member; a member replays
over what the pack run stored, as a flow whose table is an artifact."""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from sigma_sample import sigma_sample

from huntline.schedule.coverage import load_coverage
from huntline.storage import open_store
from huntline.window import Window

pytestmark = pytest.mark.server

#: Two recordings, one bundle: the Net.EXE recon rule and the esentutl rule alert on them.
RECORDINGS = ("empire_shell_net_localgroup_administrators", "cmd_sam_copy_esentutl")
RECON = "proc_creation_win_net_groups_and_accounts_recon.yaml"
RECON_ID = "d95de845-b83c-4a9a-8a6a-4fc802ebf6c0"
BROKEN_ID = "9d9c2f7e-0b7e-4c55-9d0e-3b8f6f3f1a10"
PACK = """\
pack: sigma-live
title: Sigma rules, live
source: {url}
entity: process
window: {{last: 5m}}
schedule: {{cron: "* * * * *", timezone: UTC}}
members: ../rules/
"""
#: A member that validates but fails when it runs: a quality gate no window passes.
BROKEN = """\
id: 9d9c2f7e-0b7e-4c55-9d0e-3b8f6f3f1a10
title: Broken rule
window: {{last: 1h}}
steps:
  - get: events
    entity: process
    from: {url}
    where: "[process:name = 'cmd.exe']"
  - expect: events
    checks:
      - rows: {{min: 1000000}}
alert:
  on: events
  when: exists(name)
  title: broken {{name}}
"""


class Counting(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and counts the GET requests per path."""

    counts: Counter[str]

    def do_GET(self) -> None:
        self.counts[self.path.split("?")[0]] += 1
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


def live_bundle(shared_data: Path, at: datetime) -> dict[str, Any]:
    """The recordings' events in one bundle, every observation dated ``at`` (so a scheduled
    window ending now holds them: the recordings are from 2020)."""
    objects: list[dict[str, Any]] = []
    stamp = at.isoformat().replace("+00:00", "Z")
    for name in RECORDINGS:
        packed = shared_data / "otrf" / f"{name}.stix.json.gz"
        bundle = json.loads(gzip.decompress(packed.read_bytes()))
        for item in bundle["objects"]:
            if item["type"] == "observed-data":
                item["first_observed"] = item["last_observed"] = stamp
            objects.append(item)
    return {
        "type": "bundle",
        "id": "bundle--2f7c5b1e-8f0e-4c1a-9d67-0b1f5e3c9a21",
        "objects": objects,
    }


@pytest.fixture
def source(shared_data: Path, tmp_path: Path) -> Iterator[tuple[str, Counter[str]]]:
    """The live bundle over HTTP as ``pack.json`` (the pack's source) and ``alone.json`` (the
    members run alone), and the server's request counts."""
    folder = tmp_path / "served"
    folder.mkdir()
    text = json.dumps(live_bundle(shared_data, datetime.now(UTC) - timedelta(seconds=5)))
    for name in ("pack.json", "alone.json"):
        (folder / name).write_text(text)
    counts: Counter[str] = Counter()
    handler = type("Handler", (Counting,), {"counts": counts})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", counts
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def project(repo_root: Path, tmp_path: Path, source: tuple[str, Counter[str]]) -> Path:
    """The shipped Sigma books reading the live bundle, a broken member, and the pack."""
    url = f"{source[0]}/pack.json"
    root = tmp_path / "project"
    (root / "flows").mkdir(parents=True)
    for entrypoint in ("hunt.py", "pack.py"):
        shutil.copy(repo_root / "flows" / entrypoint, root / "flows" / entrypoint)
    rules, packs = root / "hunts" / "rules", root / "hunts" / "packs"
    rules.mkdir(parents=True)
    packs.mkdir()
    for book in sigma_sample(repo_root):  # six of the 1,119, each run alone below too
        text = book.read_text()
        assert "from: edr\n" in text
        (rules / book.name).write_text(text.replace("from: edr\n", f"from: {url}\n"))
    (rules / "broken.yaml").write_text(BROKEN.format(url=url))
    (packs / "live.pack.yaml").write_text(PACK.format(url=url))
    return root


@pytest.fixture
def pool_worker(
    project: Path, prefect_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """``huntline worker`` on the ``huntline`` pool (what ``huntline server start`` runs by
    default), running flows in ``project`` with the same store as ``cli``."""
    from huntline.prefect.worker import start_worker, stop_worker

    monkeypatch.setenv("HUNTLINE_STORAGE", str(tmp_path / "store"))
    home = tmp_path / "worker"
    start_worker(home, prefect_server.api_url, "huntline", project, kind="pool")
    yield home
    stop_worker(home)


def first_scheduled(client: SyncPrefectClient, timeout: float) -> Any:
    """The pack deployment's earliest scheduled run, once the scheduler has made it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["sigma-live"]))
        )
        if runs:
            return min(runs, key=lambda run: run.expected_start_time)
        time.sleep(1)
    raise TimeoutError(f"the scheduler made no run of the pack in {timeout:.0f} s")


def finished(client: SyncPrefectClient, run_id: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.read_flow_run(run_id)
        if run.state and run.state.is_final():
            return run
        time.sleep(1)
    raise TimeoutError(f"the pack's scheduled run did not finish in {timeout:.0f} s")


def alerts_of(manifest: Path) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(id, title, severity, tags) of each alert a run's manifest names, sorted."""
    record = json.loads(manifest.read_text())["alerts"]
    if not record or not record["jsonl"]:
        return []
    path = Path(record["jsonl"].removeprefix("file://"))
    alerts = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return sorted((a["alert_id"], a["title"], a["severity"], tuple(a["tags"])) for a in alerts)


def test_a_deployed_pack_runs_on_schedule_with_one_query_and_the_members_alerts(
    cli: Callable[..., subprocess.CompletedProcess[str]],
    client: SyncPrefectClient,
    pool_worker: Path,
    project: Path,
    source: tuple[str, Counter[str]],
    artifacts_of: Callable[[str], list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    url, counts = source
    deployed = cli("deploy")
    assert deployed.returncode == 0, deployed.stderr
    assert deployed.stdout.count("create") == 1 and "sigma-live" in deployed.stdout
    names = {d.name for d in client.read_deployments()}
    assert "sigma-live" in names and not names & {"broken", "proc-creation-win-uac-bypass-cmstp"}
    deployment = client.read_deployment_by_name("pack/sigma-live")
    assert deployment.global_concurrency_limit is not None
    assert deployment.global_concurrency_limit.limit == 1
    assert {"pack", "start", "stop", "source"} <= set(
        deployment.parameter_openapi_schema["properties"]
    )

    first = first_scheduled(client, 60)
    # the window ends at the scheduled time (5m look-back + 5m overlap)
    stop = first.expected_start_time
    start = stop - timedelta(minutes=10)
    members = sorted((project / "hunts" / "rules").glob("proc_creation_*.yaml"))
    assert len(members) == 6
    # Each member alone over the same window, while the scheduled run is awaited.
    options = [
        "--json",
        "--source",
        f"{url}/alone.json",
        "--storage",
        f"file://{tmp_path / 'alone'}",
    ]
    options += ["--start", start.isoformat(), "--stop", stop.isoformat()]
    with ThreadPoolExecutor(3) as pool:
        alone = {
            book.name: pool.submit(cli, "run", f"hunts/rules/{book.name}", *options)
            for book in members
        }
        run = finished(client, first.id, 240)
        pack_requests = counts["/pack.json"]  # read before the next minute's run can start
        summaries = {name: future.result() for name, future in alone.items()}
    assert run.state.is_failed(), run.state  # the broken member fails the run, alone
    assert run.state.message.startswith("1 of 7 member(s) failed: Broken rule "), run.state
    # the fetch succeeded: the pack's coverage has the window (no catch-up of it by every member),
    # a member that succeeded has it too, and the broken member's own record shows the gap
    store = open_store(str(tmp_path / "store"))
    window = Window(start, stop)
    assert load_coverage(store, "sigma-live").gaps(window) == []
    assert load_coverage(store, RECON_ID).gaps(window) == []
    assert load_coverage(store, BROKEN_ID).gaps(window) == [window]

    [table] = [a for a in artifacts_of(str(run.id)) if a["key"] == "members"]
    rows = {row["member"]: row for row in json.loads(table["data"])}
    assert len(rows) == 7
    assert "1000000" in rows["Broken rule"]["error"], rows["Broken rule"]
    assert all(row["error"] == "" for name, row in rows.items() if name != "Broken rule")

    manifests = {
        Path(json.loads(path.read_text())["book"]["path"]).name: path
        for path in (tmp_path / "store").glob(f"*/*/{run.id}/manifest.json")
    }
    alerting = 0
    for name, done in summaries.items():
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        by_itself = sorted(
            (a["alert_id"], a["title"], a["severity"], tuple(a["tags"])) for a in summary["alerts"]
        )
        in_pack = alerts_of(manifests[name])
        assert in_pack == by_itself, name
        assert rows[summary["title"]]["alerts"] == len(in_pack)
        alerting += bool(in_pack)
    assert alerting == 2  # the recon rule and the esentutl rule
    # one query for the whole pack's window (each member alone made at least one of its own)
    assert pack_requests == 1 and counts["/alone.json"] >= len(members), counts

    # a member replayed over what the pack run stored, as a flow: its table is an artifact
    replayed = cli(
        "replay", f"hunts/rules/{RECON}", "--from", start.isoformat(), "--to", stop.isoformat(),
        "--flow", "--json",
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    raised = len(alerts_of(manifests[RECON]))
    # (a later scheduled run may have stored the next window too: the range overlaps it)
    judged = {w["run_id"]: w for w in json.loads(replayed.stdout)["windows"]}[str(run.id)]
    assert (judged["then"], judged["now"], judged["unchanged"]) == (raised, raised, raised)
    assert judged["new"] == judged["gone"] == []
    [flow_run_id] = re.findall(r"replay run \S+/flow-run/([0-9a-f-]{36})", replayed.stderr)
    [table] = [a for a in artifacts_of(flow_run_id) if a["key"] == "replay"]
    window = {row["run"]: row for row in json.loads(table["data"])}[str(run.id)]
    assert (window["judged"], window["why not"], window["then"], window["now"]) == (
        "yes", "", raised, raised,
    )  # fmt: skip
    assert window["unchanged"] == raised and window["new"] == window["gone"] == ""

"""A SigmaHQ rule as a hunt, end to end: ``huntline sigma convert`` writes the book, and
``huntline run`` fetches an OTRF recording's STIX bundle over HTTP through stix-shifter's
``stix_bundle`` connector (which runs the pushed-down pattern with stix2-matcher), evaluates
the rule's local condition and alerts with the rule's id, level and ATT&CK tags."""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

RULE = "rules/windows/process_creation/proc_creation_win_esentutl_sensitive_file_copy.yml"
RULE_ID = "e7be6119-fc37-43f0-ad4f-1f3f99be2f9f"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recording_url(shared_data: Path, tmp_path: Path) -> Iterator[str]:
    """The cmd_sam_copy_esentutl recording's STIX bundle over HTTP on 127.0.0.1."""
    packed = shared_data / "otrf" / "cmd_sam_copy_esentutl.stix.json.gz"
    (tmp_path / "bundle.json").write_bytes(gzip.decompress(packed.read_bytes()))
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/bundle.json"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_converted_rule_alerts_over_a_stix_shifter_source(  # type: ignore[no-untyped-def]
    huntline, shared_data: Path, recording_url: str, tmp_path: Path
) -> None:
    books = tmp_path / "books"
    converted = huntline(
        "sigma",
        "convert",
        str(shared_data / "sigma" / RULE),
        "--into",
        str(books),
        "--source",
        recording_url,
    )
    assert converted.returncode == 0, converted.stderr
    book = books / "proc_creation_win_esentutl_sensitive_file_copy.yaml"
    result = huntline(
        "run",
        str(book),
        "--json",
        "--storage",
        f"file://{tmp_path / 'store'}",
        "--start",
        "2020-10-19T00:00:00Z",
        "--stop",
        "2020-10-20T00:00:00Z",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    alerts = summary["alerts"]
    # the Sysmon event 1 and the Security 4688 of the same esentutl.exe: two STIX processes
    assert len(alerts) >= 1
    assert {alert["hunt_id"] for alert in alerts} == {RULE_ID}
    assert {alert["severity"] for alert in alerts} == {"high"}
    assert {"attack.t1003.002", "attack.credential-access"} <= set(alerts[0]["tags"])
    assert all("esentutl" in str(alert["fields"].get("command_line")) for alert in alerts)


def test_a_book_pointing_at_the_rule_alerts_as_the_converted_book(  # type: ignore[no-untyped-def]
    huntline, shared_data: Path, recording_url: str, tmp_path: Path
) -> None:
    """``sigma: RULE`` (relative to the book's folder): the rule is converted as the book loads,
    so the Sigma repository stays the source of truth."""
    rule = os.path.relpath(shared_data / "sigma" / RULE, tmp_path)
    book = tmp_path / "esentutl.yaml"
    book.write_text(f"sigma: {rule}\nfrom: {recording_url}\nwindow: {{last: 1h}}\n")
    result = huntline(
        "run",
        str(book),
        "--json",
        "--storage",
        f"file://{tmp_path / 'store'}",
        "--start",
        "2020-10-19T00:00:00Z",
        "--stop",
        "2020-10-20T00:00:00Z",
    )
    assert result.returncode == 0, result.stderr
    alerts = json.loads(result.stdout)["alerts"]
    assert len(alerts) >= 1
    assert {alert["hunt_id"] for alert in alerts} == {RULE_ID}
    assert {alert["severity"] for alert in alerts} == {"high"}
    assert {"attack.t1003.002", "attack.credential-access"} <= set(alerts[0]["tags"])
    assert all("esentutl" in str(alert["fields"].get("command_line")) for alert in alerts)

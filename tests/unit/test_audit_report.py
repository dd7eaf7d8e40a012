"""scripts/audit_report.py: a pip-audit report whose pins were skipped is a failure, never a
clean result (issue 22, Dependencies). all_skipped.json is the start of the report pip-audit
2.10.1 wrote on a machine without a route to PyPI's JSON API: it printed "No known
vulnerabilities found" and exited 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "audit_report.py"
SKIPPED = ROOT / "tests" / "files" / "audit" / "all_skipped.json"


def judge(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, check=False
    )


def test_skipped_pins_fail_loudly() -> None:
    result = judge(SKIPPED)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "AUDIT INCOMPLETE: 12 of 12 pins could not be checked; this is not a clean result"
    )
    assert lines[1] == (
        "  skipped aioboto3: Dependency not found on PyPI and could not be audited: "
        "aioboto3 (15.5.0)"
    )
    assert lines[-2:] == [
        "  ... and 2 more",
        "  hint: run it where PyPI's JSON API (or osv.dev, with "
        "PIP_AUDIT_VULNERABILITY_SERVICE=osv) is reachable",
    ]


def test_a_vulnerability_fails_and_a_full_audit_passes(tmp_path: Path) -> None:
    report = {
        "dependencies": [
            {"name": "boto3", "version": "1.40.61", "vulns": []},
            {
                "name": "apprise",
                "version": "2.0.1",
                "vulns": [{"id": "PYSEC-0000-1", "fix_versions": ["2.0.2"], "aliases": []}],
            },
        ],
        "fixes": [],
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    vulnerable = judge(path)
    assert (vulnerable.returncode, vulnerable.stderr) == (
        1,
        "VULNERABLE: apprise 2.0.1: PYSEC-0000-1 (fixed in 2.0.2)\n",
    )
    report["dependencies"][1]["vulns"] = []
    path.write_text(json.dumps(report))
    clean = judge(path)
    assert (clean.returncode, clean.stdout) == (0, "audited 2 pins: no known vulnerabilities\n")

"""``huntline test`` as CI runs it: every book in hunts/ through the real flow, a real Prefect
server and the real analytics images; and a broken expectation fails with a readable diff."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.docker]


def test_every_book_in_hunts_passes_its_tests(
    huntline, repo_root: Path, prefect_server, susp_scoring_image: str
) -> None:
    result = huntline("test", "hunts/", "--json")
    report = json.loads(result.stdout)
    failed = [case for case in report["cases"] if not case["passed"]]
    assert result.returncode == 0 and not failed, json.dumps(failed, indent=2) + result.stderr
    hunts = repo_root / "hunts"
    counts: dict[Path, list[int]] = defaultdict(list)  # book -> alerts of each of its cases
    for case in report["cases"]:  # one pass: 2,000+ cases of 1,100+ books
        counts[Path(case["book"]).resolve().relative_to(hunts)].append(len(case["alerts"]))
    library = {  # every book in every folder (hunts/sigma/ too), tests files aside
        p.relative_to(hunts)
        for p in hunts.rglob("*.yaml")
        if "steps:" in p.read_text() and not p.name.endswith(".tests.yaml")
    }
    assert set(counts) == library, "every book in hunts/ has tests"
    for book, alerts in counts.items():
        assert max(alerts) > 0 and min(alerts) == 0, f"{book}: a positive and a negative case"


def test_a_broken_expectation_fails_with_a_readable_diff(
    huntline, repo_root: Path, prefect_server, tmp_path: Path
) -> None:
    tests = tmp_path / "credential_dumping.tests.yaml"
    tests.write_text(
        f"book: {repo_root / 'hunts/credential_dumping.yaml'}\n"
        "cases:\n"
        "  - name: comsvcs expected twice\n"
        "    data:\n"
        "      procs:\n"
        "        objects:\n"
        "          - - {type: process, name: rundll32.exe, "
        "command_line: 'rundll32 comsvcs.dll MiniDump 624 C:\\t\\l.dmp full'}\n"
        "    expect:\n"
        "      alerts: 2\n"
        "      all: [\"title icontains 'procdump'\"]\n"
    )
    result = huntline("test", str(tests))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    start = lines.index(f"✗ {repo_root / 'hunts/credential_dumping.yaml'} › comsvcs expected twice")
    title = "Credential dumping on rundll32 comsvcs.dll MiniDump 624 C:\\t\\l.dmp full"
    assert lines[start + 1 : start + 6] == [
        "    - alerts: 2",
        "    + alerts: 1",
        "    - every alert meets: title icontains 'procdump'",
        f"    + 1 of 1 do not: {title}",
        f"      raised: {title}",
    ]
    assert lines[-1] == "0 passed, 1 failed in " + lines[-1].split(" in ")[1]


def test_the_python_runner_runs_the_analytics_without_docker(
    huntline, repo_root: Path, prefect_server
) -> None:
    result = huntline("test", "hunts/suspicious_processes.yaml", "--runner", "python", "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["passed"], result.stdout + result.stderr
    assert [len(case["alerts"]) for case in report["cases"]] == [6, 0, 1, 0]

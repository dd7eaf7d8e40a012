"""A converted Sigma event_count correlation through the real flow (``huntline test``, a real
Prefect server): it alerts only when one user reaches the rule's count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from huntline.cli import main
from huntline.sigma.cases import observation

pytestmark = [pytest.mark.server]

RULES = Path(__file__).parents[1] / "files" / "sigma_correlation"


def _rows(*users: str) -> dict[str, object]:
    objects = [
        observation(
            "process",
            {"command_line": f"whoami /{index}", "creator_user_ref.user_id": user},
        )
        for index, user in enumerate(users)
    ]
    return {"events": {"objects": objects}}


def test_a_converted_event_count_alerts_only_at_its_threshold(  # type: ignore[no-untyped-def]
    huntline, prefect_server, tmp_path: Path
) -> None:
    into = tmp_path / "hunts"
    rule = tmp_path / "event_count.yml"
    rule.write_text((RULES / "event_count.yml").read_text())
    assert main(["sigma", "convert", str(rule), "--into", str(into)]) == 0
    cases = [
        ("three by alice alert once", _rows("alice", "alice", "alice"), 1),
        ("two by alice do not", _rows("alice", "alice"), 0),
        ("three by three users do not", _rows("alice", "bob", "carol"), 0),
    ]
    (into / "event_count.tests.yaml").write_text(
        yaml.safe_dump(
            {
                "cases": [
                    {"name": name, "data": data, "expect": {"alerts": alerts}}
                    for name, data, alerts in cases
                ]
            }
        )
    )
    result = huntline("test", str(into / "event_count.yaml"), "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {case["case"]: len(case["alerts"]) for case in report["cases"]} == {
        name: alerts for name, _, alerts in cases
    }

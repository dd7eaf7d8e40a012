"""``huntline deploy`` warns, per data source, when the deployed books read one that cannot be
opened here, and stays quiet once it can."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline.schedule.preflight import source_warnings
from huntline.schedule.specs import load_specs

BOOK = """id: {id}
title: {title}
window: {{last: 1h}}
schedule: {{cron: "0 * * * *"}}
steps:
  - get: procs
    entity: process
    from: {source}
"""


@pytest.fixture
def hunts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HUNTLINE_STIXSHIFTER_CONFIG", raising=False)
    for variable in ("CONNECTOR", "CONNECTION", "CONFIG"):
        monkeypatch.delenv(f"STIXSHIFTER_EDR_{variable}", raising=False)
    folder = tmp_path / "hunts"
    folder.mkdir()
    books = [
        ("a", "7c1e4b0e-8a47-4c52-9a3e-2f0d6c7b1a01", "edr"),
        ("b", "7c1e4b0e-8a47-4c52-9a3e-2f0d6c7b1a02", "edr"),
        ("c", "7c1e4b0e-8a47-4c52-9a3e-2f0d6c7b1a03", "file://data/bundle.json"),
    ]
    for name, hunt_id, source in books:
        (folder / f"{name}.yaml").write_text(BOOK.format(id=hunt_id, title=name, source=source))
    return folder


def test_one_warning_per_source_naming_its_deployments(hunts: Path) -> None:
    warnings = source_warnings(load_specs(hunts, hunts.parent), hunts.parent)
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "the runs of a, b will fail until 'edr' is configured where the worker runs: "
        "unknown data source 'edr'"
    )
    assert "\n  hint: set STIXSHIFTER_EDR_CONNECTOR" in warnings[0]


def test_quiet_once_the_profile_exists(hunts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STIXSHIFTER_EDR_CONNECTOR", "elastic_ecs")
    monkeypatch.setenv("STIXSHIFTER_EDR_CONNECTION", '{"host": "es.internal", "port": 9200}')
    monkeypatch.setenv("STIXSHIFTER_EDR_CONFIG", '{"auth": {"api_key": "k"}}')
    assert source_warnings(load_specs(hunts, hunts.parent), hunts.parent) == []

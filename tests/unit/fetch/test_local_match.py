"""The stix_bundle connector (HTTP bundles) matches with huntline.patterns once installed."""

from __future__ import annotations

from pathlib import Path

import pytest
import stixgen
from stix_shifter_modules.stix_bundle.stix_transmission.connector import Connector

from huntline.fetch.sources.bundle import read_observed_data
from huntline.fetch.sources.matcher import reference_match
from huntline.fetch.stix import matcher_patches

WINDOW = " START t'2000-01-01T00:00:00.000Z' STOP t'2100-01-01T00:00:00.000Z'"


@pytest.mark.parametrize(
    "pattern",
    [
        f"[process:name = 'powershell.exe']{WINDOW}",
        f"[process:type = 'process' OR process:name LIKE '%']{WINDOW}",
        f"[ipv4-addr:value ISSUBSET '10.0.0.0/16']{WINDOW} OR [file:name = 'x']{WINDOW}",
        f"[process:name = 'cmd.exe']{WINDOW} AND [process:name = 'powershell.exe']{WINDOW}",
    ],
)
def test_the_connector_keeps_what_stix2_matcher_binds(pattern: str, tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    stixgen.write_bundle(path, 800, seed=3, match_fraction=0.1)
    observed = read_observed_data(path)
    matcher_patches.install_connector()
    matcher_patches.install_connector()  # idempotent
    connector = Connector({"url": "http://127.0.0.1:9/b.json", "options": {}}, {})
    kept = {obs["id"] for obs in connector.match(pattern, observed)}
    assert kept == reference_match(pattern, observed)
    assert kept

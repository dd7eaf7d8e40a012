"""pin_ip_on_map with a small GeoIP2-City database the test writes (mmdb-writer)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from image_testing import dockerfile_labels, load, write_mmdb


@pytest.fixture(scope="module")
def pin() -> ModuleType:
    return load("pin_ip_on_map")


def _traffic() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"network-traffic--{i}" for i in range(5)],
            "type": "network-traffic",
            "src_ref.value": ["10.0.0.5"] * 5,
            "dst_ref.value": ["93.184.216.34", "93.184.216.34", "8.8.8.8", "185.60.216.35",
                              "203.0.113.9"],
        }
    )  # fmt: skip


def test_map_has_a_marker_per_location_with_counts(
    pin: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("mmdb", str(write_mmdb(tmp_path / "cities.mmdb")))
    frame = _traffic()
    same, page = pin.analytics(frame)
    assert same is frame
    assert page.count("L.circleMarker(") == 3
    # popups are built on click: folium builds them with jQuery from a CDN, and an offline
    # viewer must still get every marker (rendered in headless Chromium without network)
    assert page.count("once('click'") == 3
    assert "Norwell, US (2)" in page and "Mountain View, US (1)" in page
    assert "Dublin, IE (1)" in page
    assert "93.184.216.34: 2 row(s)" in page
    assert "3 of 5 addresses located" in page  # 10.0.0.5 and 203.0.113.9 are not in it
    assert page.rstrip().endswith("</html>")


def test_missing_mmdb_is_a_clear_error(pin: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="parameter mmdb is required"):
        pin.analytics(_traffic())
    monkeypatch.setenv("mmdb", "/nonexistent/GeoLite2-City.mmdb")
    with pytest.raises(FileNotFoundError, match=r"GeoIP database /nonexistent/GeoLite2-City\.mmdb"):
        pin.analytics(_traffic())


def test_not_an_mmdb(pin: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "x.mmdb").write_bytes(b"not a database")
    monkeypatch.setenv("mmdb", str(tmp_path / "x.mmdb"))
    with pytest.raises(ValueError, match="is not a MaxMind DB"):
        pin.analytics(_traffic())


def test_nothing_located(pin: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("mmdb", str(write_mmdb(tmp_path / "c.mmdb")))
    _, page = pin.analytics(_traffic().assign(**{"dst_ref.value": "10.1.1.1"}))
    assert "none of the 2 addresses is in the GeoIP database" in page


def test_label_mounts_mmdb(pin: ModuleType) -> None:
    labels = dockerfile_labels("pin_ip_on_map")
    assert labels["huntline.mounts"] == "mmdb"
    assert set(labels["huntline.parameters"].split(",")) == set(pin.PARAMETERS)

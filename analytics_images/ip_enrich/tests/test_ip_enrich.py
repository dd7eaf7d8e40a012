"""ip_enrich against a real local HTTP server that answers in the SANS ISC API's format."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from image_testing import dockerfile_labels, load, sans_answer, sans_server, shared_parquet

ANSWERS = {
    "93.184.216.34": sans_answer("93.184.216.34", "EXAMPLE-AS", "NL", 42,
                                {"blocklistde22": ("2026-01-02", "2026-11-30"),
                                 "ciarmy": ("2025-12-01", "2026-10-01")}),
    "8.8.8.8": sans_answer("8.8.8.8", "GOOGLE", "US", None),
}  # fmt: skip


@pytest.fixture(scope="module")
def enrich() -> ModuleType:
    return load("ip_enrich")


def _traffic() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"network-traffic--{i}" for i in range(4)],
            "type": "network-traffic",
            "src_ref.value": ["10.0.0.5", "10.0.0.5", "93.184.216.34", "10.0.0.6"],
            "dst_ref.value": ["93.184.216.34", "8.8.8.8", "10.0.0.5", "93.184.216.34"],
        }
    )


def test_columns_as_kestrel_named_them(enrich: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    with sans_server(ANSWERS) as server:
        monkeypatch.setenv("SANSCRED", "hunter@example.org")
        monkeypatch.setenv("base_url", server.url)
        out, display = enrich.analytics(_traffic())
    row = out.iloc[0]
    assert row["x_dst_ref.value_asname"] == "EXAMPLE-AS"
    assert row["x_dst_ref.value_ascountry"] == "NL"
    assert row["x_dst_ref.value_attacks"] == 42
    assert row["x_dst_ref.value_threatfeeds"] == "blocklistde22,ciarmy"
    assert row["x_dst_ref.value_firstseen"] == "2025-12-01"
    assert row["x_dst_ref.value_lastseen"] == "2026-11-30"
    assert out.iloc[1]["x_dst_ref.value_attacks"] == 0  # null attacks read as 0, as Kestrel did
    assert pd.isna(out.iloc[1]["x_dst_ref.value_threatfeeds"])
    assert pd.isna(out.iloc[0]["x_src_ref.value_asname"])  # private: never asked
    assert out.iloc[2]["x_src_ref.value_asname"] == "EXAMPLE-AS"
    # each public address asked once, with the contact in the User-Agent
    assert sorted(server.requests) == ["/api/ip/8.8.8.8?json", "/api/ip/93.184.216.34?json"]
    assert (out["x_ip_enrich_status"] == "ok").all()
    assert "2 requests, 1 cache hits" in display


def test_429_is_retried_after_backoff(enrich: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    with sans_server(ANSWERS, throttle_first=2) as server:
        monkeypatch.setenv("SANSCRED", "hunter@example.org")
        monkeypatch.setenv("base_url", server.url)
        out, display = enrich.analytics(_traffic())
    assert out.iloc[0]["x_dst_ref.value_asname"] == "EXAMPLE-AS"
    assert len(server.requests) == 4
    assert "2 waits after 429" in display


def test_backoff_honours_retry_after_and_caps(enrich: ModuleType) -> None:
    waits: list[float] = []
    client = enrich.SansClient("http://x", "c", max_wait=5, sleep=waits.append)
    client._wait(0, "3")
    client._wait(3, None)
    client._wait(1, "soon")
    assert waits == [3.0, 5.0, 2.0]


def test_unreachable_api_fails_by_default(
    enrich: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANSCRED", "hunter@example.org")
    monkeypatch.setenv("base_url", "http://127.0.0.1:9/api")  # discard port: refused
    monkeypatch.setenv("max_retries", "1")
    monkeypatch.setenv("max_wait", "0")
    with pytest.raises(enrich.EnrichmentUnavailable, match="the SANS API is unreachable"):
        enrich.analytics(_traffic())


def test_unreachable_api_degrades_visibly(
    enrich: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in {"SANSCRED": "h@example.org", "base_url": "http://127.0.0.1:9/api",
                       "max_retries": "0", "on_error": "degrade"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    out, display = enrich.analytics(_traffic())
    assert out["x_ip_enrich_status"].str.startswith("degraded: http://127.0.0.1:9/api/ip/").all()
    assert out["x_dst_ref.value_asname"].isna().all()
    assert "WARNING degraded" in capsys.readouterr().err
    assert "degraded" in display


def test_cache_file_is_reused(
    enrich: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SANSCRED", "h@example.org")
    monkeypatch.setenv("cache_file", str(tmp_path / "sans.json"))
    with sans_server(ANSWERS) as server:
        monkeypatch.setenv("base_url", server.url)
        enrich.analytics(_traffic())
        enrich.analytics(_traffic())
    assert len(server.requests) == 2


def test_credential_and_columns_are_checked(
    enrich: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"SANSCRED .* is required"):
        enrich.analytics(_traffic())
    monkeypatch.setenv("SANSCRED", "h@example.org")
    procs = pd.read_parquet(shared_parquet("procs.parquet.gz"))
    with pytest.raises(KeyError, match=r"none of src_ref.value, dst_ref.value, value"):
        enrich.analytics(procs)


def test_label_declares_network(enrich: ModuleType) -> None:
    labels = dockerfile_labels("ip_enrich")
    assert labels["huntline.network"] == "true"
    assert set(labels["huntline.parameters"].split(",")) == set(enrich.PARAMETERS)

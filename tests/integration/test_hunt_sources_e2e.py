"""Every kind of data source end to end through ``huntline run``: a MariaDB table through
stix-shifter's mysql connector (a Kestrel-style profile in the environment), an HTTP bundle
through the stix_bundle connector, a file:// bundle, and several of them in one step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.server


def mysql_profile(mariadb: Any, name: str = "EDR") -> dict[str, str]:
    """The Kestrel environment variables of a mysql profile."""
    return {
        f"STIXSHIFTER_{name}_CONNECTOR": "mysql",
        f"STIXSHIFTER_{name}_CONNECTION": json.dumps(mariadb.connection()),
        f"STIXSHIFTER_{name}_CONFIG": json.dumps(mariadb.config()),
    }


def book(path: Path, sources: str, where: str, window: tuple[str, str], alert: str = "") -> Path:
    path.write_text(
        f"""id: 7c9e6679-7425-40de-944b-e07fc1f90ae7
title: sources end to end
window: {{start: {window[0]}, stop: {window[1]}}}
steps:
  - get: found
    entity: process
    from: {sources}
    where: "{where}"
{alert}"""
    )
    return path


def run_ok(huntline, book: Path | str, store: Path, **env: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """``huntline run BOOK --json`` that must succeed; its summary, with everything it printed
    under ``"printed"``."""
    result = huntline("run", str(book), "--json", "--storage", f"file://{store}", env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return {**summary, "printed": result.stdout + result.stderr}


def table(uri: str) -> pd.DataFrame:
    return pd.read_parquet(uri.removeprefix("file://"))


def test_mysql_profile_end_to_end(huntline, mariadb: Any, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = (mariadb.window_start.isoformat(), mariadb.window_stop.isoformat())
    alert = """alert:
  on: found
  when: name == 'cmd.exe'
  severity: low
  title: "{name} pid {pid}"
"""
    path = book(tmp_path / "mysql.yaml", "edr", "[process:name = 'cmd.exe']", window, alert)
    summary = run_ok(huntline, path, tmp_path / "store", **mysql_profile(mariadb))
    expected = [
        row
        for row in mariadb.rows
        if row["process_name"] == "cmd.exe"
        and mariadb.window_start
        <= pd.Timestamp(row["entry_time"], unit="ms", tz="UTC")
        < mariadb.window_stop
    ]
    found = table(summary["tables"]["found"]["uri"])
    assert sorted(found["pid"].tolist()) == sorted(row["process_id"] for row in expected)
    assert set(found["x_datasource"]) == {"edr"}
    assert summary["alert_count"] == len(expected)
    assert mariadb.password not in summary["printed"]


def test_http_bundle_gives_the_same_hunt_as_the_file(  # type: ignore[no-untyped-def]
    huntline, bundle_server: str, susp_scoring_image: str, repo_root: Path, tmp_path: Path
) -> None:
    sample = (repo_root / "hunts" / "suspicious_processes.yaml").read_text()
    url = f"{bundle_server}/sample_endpoint_bundle.json"
    over_http = tmp_path / "http.yaml"
    over_http.write_text(sample.replace("file://hunts/data/sample_endpoint_bundle.json", url))
    summary = run_ok(huntline, over_http, tmp_path / "store")
    reference = run_ok(huntline, "hunts/suspicious_processes.yaml", tmp_path / "store")
    assert summary["alert_count"] == reference["alert_count"] == 6
    assert sorted(a["title"] for a in summary["alerts"]) == sorted(
        a["title"] for a in reference["alerts"]
    )
    http_table = table(summary["tables"]["procs"]["uri"]).drop(columns="x_datasource")
    file_table = table(reference["tables"]["procs"]["uri"]).drop(columns="x_datasource")
    columns = sorted(file_table.columns)
    assert sorted(http_table.columns) == columns
    pd.testing.assert_frame_equal(
        http_table[columns].sort_values("id").reset_index(drop=True),
        file_table[columns].sort_values("id").reset_index(drop=True),
    )


def test_several_sources_in_one_step(  # type: ignore[no-untyped-def]
    huntline, mariadb: Any, repo_root: Path, tmp_path: Path
) -> None:
    window = ("2021-03-01T00:00:00Z", "2024-06-04T00:00:00Z")
    sources = f"[edr, file://{repo_root / 'hunts/data/sample_endpoint_bundle.json'}]"
    path = book(tmp_path / "both.yaml", sources, "[process:name = 'cmd.exe']", window)
    summary = run_ok(huntline, path, tmp_path / "store", **mysql_profile(mariadb))
    found = table(summary["tables"]["found"]["uri"])
    by_source = found.groupby("x_datasource").size().to_dict()
    assert set(by_source) == {
        "edr",
        f"file://{repo_root / 'hunts/data/sample_endpoint_bundle.json'}",
    }
    assert (found["name"] == "cmd.exe").all()


def test_wrong_mysql_credentials_fail_clearly(huntline, mariadb: Any, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = (mariadb.window_start.isoformat(), mariadb.window_stop.isoformat())
    path = book(tmp_path / "badpass.yaml", "edr", "[process:name = 'cmd.exe']", window)
    environment = mysql_profile(mariadb)
    environment["STIXSHIFTER_EDR_CONFIG"] = json.dumps(mariadb.config(password="wrong-pass"))
    result = huntline("run", str(path), env=environment)
    assert result.returncode == 1
    message = " ".join(result.stderr.split("error:", 1)[1].split())
    assert "data source 'edr'" in message and "1045" in message
    assert "wrong-pass" not in result.stderr and "Traceback" not in message

"""ensure_server points an already imported Prefect at the server it found."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_prefect_imported_before_uses_the_found_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    from huntline.prefect import server

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("HUNTLINE_STATE_DIR", str(tmp_path))
    found = server.Server("http://127.0.0.1:9/api", "http://127.0.0.1:9")
    monkeypatch.setattr(server, "running_local_server", lambda home: found)
    try:
        server.ensure_server()
        assert get_current_settings().api.url == "http://127.0.0.1:9/api"
    finally:
        monkeypatch.delenv("PREFECT_API_URL", raising=False)
        refresh_global_settings_context()

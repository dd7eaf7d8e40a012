"""Issue 23, item 10: a ``prefect-secret://`` destination whose block does not exist passed
validate, and the run kept its alerts pending with only "ValueError". Against the session's
real Prefect server: validate names the missing block, and the send-time error says what is
missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline import cli
from huntline.alert.destinations import Destination, destination_url
from huntline.errors import AlertError

pytestmark = pytest.mark.server


def book_notifying(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "secret_dest.yaml"
    path.write_text(
        f"""id: 7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f
title: Secret destination
steps:
  - get: procs
    entity: process
    from: file://hunts/data/sample_endpoint_bundle.json
    where: "[process:name = 'cmd.exe']"
alert:
  on: procs
  when: exists(name)
  title: "{{name}}"
  notify: ["jsonl://{tmp_path}/sent.jsonl", "prefect-secret://{block}"]
"""
    )
    return path


def test_validate_names_a_missing_secret_block_and_accepts_an_existing_one(
    prefect_server, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("PREFECT_API_URL", prefect_server.api_url)
    book = book_notifying(tmp_path, "soc-hook-missing")
    assert cli.main(["validate", str(book)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"✗ {book}: 1 problem",
        f"  {book} alert.notify[1]: no Prefect Secret block 'soc-hook-missing' on the server "
        f"at {prefect_server.api_url} (create it: prefect block create secret, or "
        "Secret(value='json://...').save('soc-hook-missing'))",
    ]
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        Secret(value=f"jsonl://{tmp_path}/hook.jsonl").save("soc-hook-present", overwrite=True)
    assert cli.main(["validate", str(book_notifying(tmp_path, "soc-hook-present"))]) == 0


def test_without_a_server_validate_says_the_block_is_checked_at_send_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch, unused_port: int
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{unused_port}/api")
    book = book_notifying(tmp_path, "soc-hook")
    assert cli.main(["validate", str(book)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        f"  warning: {book} alert.notify[1]: Prefect Secret block 'soc-hook' not checked: no "
        "Prefect server answers (it is loaded when the alerts are sent)"
    ]


def test_a_missing_block_at_send_time_says_so_not_value_error(prefect_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from prefect.settings import PREFECT_API_URL, temporary_settings

    monkeypatch.setenv("PREFECT_API_URL", prefect_server.api_url)
    with (
        temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}),
        pytest.raises(AlertError) as caught,
    ):
        destination_url(Destination("soc", "prefect-secret://soc-hook-missing"))
    assert caught.value.message == (
        "destination soc: no Prefect Secret block 'soc-hook-missing' on the Prefect server "
        f"({prefect_server.api_url})"
    )
    assert caught.value.hint == (
        "create it: prefect block create secret, or "
        "Secret(value='json://...').save('soc-hook-missing')"
    )

"""``deployments/huntline.yaml`` is what ``huntline deploy`` would write for ``hunts/`` today,
and ``huntline deploy --write-only`` writes it without a Prefect server."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from huntline.cli import main
from huntline.schedule.specs import GENERATED, REGENERATE, load_specs, render_specs

BOOK = """\
id: 0b7c9f52-6a1e-4d3b-8f20-5c4e1a9d7b63
title: Every minute
window: {last: 1m}
schedule: {cron: "* * * * *", timezone: UTC}
steps:
  - get: procs
    entity: process
    from: file://x.json
    where: "[process:pid > 0]"
"""


def test_the_committed_deployments_are_those_of_the_books(repo_root: Path) -> None:
    expected = render_specs(load_specs(repo_root / "hunts", repo_root))
    committed = (repo_root / GENERATED).read_text()
    if committed != expected:
        diff = difflib.unified_diff(
            committed.splitlines(), expected.splitlines(), "committed", "from hunts/", lineterm=""
        )
        pytest.fail(
            f"{GENERATED} is stale: it differs from what the hunt books generate. Regenerate "
            f"it with `{REGENERATE}` (no server needed) and commit it; `huntline deploy "
            "--dry-run` shows what would change on the server.\n" + "\n".join(list(diff)[:60])
        )


def test_write_only_needs_no_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "hunts").mkdir()
    (tmp_path / "hunts/every_minute.yaml").write_text(BOOK)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens there
    assert main(["deploy", "--write-only"]) == 0
    written = (tmp_path / GENERATED).read_text()
    assert written == render_specs(load_specs(Path("hunts"), tmp_path))
    assert "name: every-minute" in written and "cron: '* * * * *'" in written
    assert f"written {GENERATED} (1 deployments); nothing registered" in capsys.readouterr().out


def test_write_only_and_dry_run_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["deploy", "--write-only", "--dry-run"])
    assert "not allowed with argument" in capsys.readouterr().err

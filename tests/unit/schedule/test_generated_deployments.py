"""``deployments/huntline.yaml`` and the root ``prefect.yaml`` are what ``huntline deploy`` would
write for ``hunts/`` today, and ``huntline deploy --write-only`` writes them without a Prefect
server. (That ``prefect deploy --all`` registers from ``prefect.yaml`` what ``huntline deploy``
registers is tests/integration/test_prefect_project.py.)"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from inline_books import scheduled_book

from huntline.cli import main
from huntline.cli.schedule import DEFAULT_POOL
from huntline.schedule.ownership import project_of
from huntline.schedule.project import PROJECT, render_project
from huntline.schedule.specs import (
    GENERATED,
    REGENERATE,
    DeploymentSpec,
    load_specs,
    render_specs,
)

BOOK = scheduled_book(
    "0b7c9f52-6a1e-4d3b-8f20-5c4e1a9d7b63", "Every minute", '{cron: "* * * * *", timezone: UTC}'
)


@pytest.fixture(scope="module")
def specs(repo_root: Path) -> list[DeploymentSpec]:
    """The specs of hunts/, made once: a pack of a thousand Sigma rules validates every member."""
    return load_specs(repo_root / "hunts", repo_root)


@pytest.mark.parametrize("generated", [GENERATED, PROJECT], ids=str)
def test_the_committed_deployments_are_those_of_the_books(
    repo_root: Path, generated: Path, specs: list[DeploymentSpec]
) -> None:
    render = {GENERATED: render_specs, PROJECT: lambda s: render_project(s, DEFAULT_POOL)}
    expected = render[generated](specs)
    committed = (repo_root / generated).read_text()
    if committed != expected:
        diff = difflib.unified_diff(
            committed.splitlines(), expected.splitlines(), "committed", "from hunts/", lineterm=""
        )
        pytest.fail(
            f"{generated} is stale: it differs from what the hunt books generate. Regenerate "
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
    specs = load_specs(Path("hunts"), tmp_path, project_of(Path("hunts")))
    written = (tmp_path / GENERATED).read_text()
    assert written == render_specs(specs)
    assert "name: every-minute" in written and "cron: '* * * * *'" in written
    # no flows/hunt.py here: the deployment runs the installed package's flow
    assert "entrypoint: huntline.prefect.hunt_flow:hunt" in written
    project = (tmp_path / PROJECT).read_text()
    assert project == render_project(specs, DEFAULT_POOL)
    assert "  schedules:\n  - cron: '* * * * *'\n    timezone: UTC\n    active: true\n" in project
    assert (
        f"written {GENERATED} and {PROJECT} (1 deployments); nothing registered"
        in capsys.readouterr().out
    )


def test_write_only_and_dry_run_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["deploy", "--write-only", "--dry-run"])
    assert "not allowed with argument" in capsys.readouterr().err

"""Issue 23, items 6 and 7: which project a folder of books is, and who owns a deployment."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from huntline.errors import ScheduleError
from huntline.schedule.ownership import check_names, owner_of, project_of


def test_a_folder_inside_is_named_by_its_path_and_runs_from_here(tmp_path: Path) -> None:
    (tmp_path / "teams/team-b").mkdir(parents=True)
    project = project_of(tmp_path / "teams/team-b", cwd=tmp_path)
    assert (project.name, project.root, project.is_default) == ("teams-team-b", tmp_path, False)
    assert project.deployment_name("shells") == "teams-team-b-shells"
    assert project.tags == ["huntline-project:teams-team-b"]
    assert project.generated == tmp_path / "deployments/teams-team-b.yaml"


def test_hunts_is_the_default_project_with_plain_names(tmp_path: Path) -> None:
    (tmp_path / "hunts").mkdir()
    project = project_of(tmp_path / "hunts", cwd=tmp_path)
    assert project.is_default and project.tags == []
    assert project.deployment_name("intel-watch") == "intel-watch"
    assert project.generated == tmp_path / "deployments/huntline.yaml"


def test_a_folder_outside_runs_from_its_repository(tmp_path: Path) -> None:
    checkout, repo = tmp_path / "checkout", tmp_path / "team-repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "detections/books").mkdir(parents=True)
    checkout.mkdir()
    project = project_of(repo / "detections/books", cwd=checkout)
    assert (project.name, project.root) == ("books", repo)
    assert project.entrypoint("hunt", "flows/hunt.py:hunt") == "huntline.prefect.hunt_flow:hunt"
    loose = tmp_path / "loose/books"
    loose.mkdir(parents=True)
    assert project_of(loose, "Team B", cwd=checkout).root == tmp_path / "loose"
    assert project_of(loose, "Team B", cwd=checkout).name == "team-b"


def test_the_module_entrypoints_name_the_flows() -> None:
    from prefect.utilities.importtools import import_object

    from huntline.schedule.ownership import MODULE_ENTRYPOINTS

    for flow, entrypoint in MODULE_ENTRYPOINTS.items():
        assert import_object(entrypoint).name == flow


def test_owners_and_names_taken_by_another_project() -> None:
    assert owner_of(["huntline", "huntline-project:team-b"]) == "team-b"
    assert owner_of(["huntline", "attack.t1003"]) == "hunts"

    team_a = SimpleNamespace(tags=["huntline", "huntline-project:team-a"])  # as read from Prefect
    project = project_of(Path("team-b"))
    with pytest.raises(ScheduleError) as caught:
        check_names(project, ["team-b-x", "shared"], {"shared": team_a})
    assert caught.value.message == (
        "project team-b wants deployment(s) that another project owns: shared (team-a)"
    )

"""``huntline pool create docker --analytics``: what the pool's runs get to start analytics
containers on the host's engine (:mod:`huntline.prefect.pool_analytics`), and the reaper's rule
that keeps a run's container and the host from removing each other's live containers."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from huntline.analytics.reaper import LABEL_OWNER, reap_orphans
from huntline.errors import ServerError
from huntline.prefect.docker_pool import docker_pool_template
from huntline.prefect.pool_analytics import RUN_ROOT, analytics_access, engine_socket


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Path]:
    """A real Unix socket standing where an engine's would."""
    path = tmp_path / "docker.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    yield path
    listener.close()


def test_the_pool_gets_the_socket_its_group_and_a_scratch_at_the_same_path(
    tmp_path: Path, engine: Path
) -> None:
    access = analytics_access(tmp_path / "shared", engine)
    shared = (tmp_path / "shared").resolve()
    assert access.volumes == (f"{engine}:{engine}", f"{shared}:{shared}")
    assert access.env == {
        "DOCKER_HOST": f"unix://{engine}",
        "HUNTLINE_SCRATCH": f"{shared}/{RUN_ROOT}",
    }
    assert access.group == str(os.stat(engine).st_gid)
    assert shared.stat().st_mode & 0o7777 == 0o1777
    template = docker_pool_template("img", tmp_path, access.env, access.volumes, [access.group])
    kwargs = template["variables"]["properties"]["container_create_kwargs"]["default"]
    assert kwargs["group_add"] == [access.group] and kwargs["user"] == "65534:65534"


def test_a_linked_scratch_is_refused(tmp_path: Path, engine: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "shared").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ServerError) as raised:
        analytics_access(tmp_path / "shared", engine)
    assert str(raised.value).startswith(
        f"--scratch {tmp_path / 'shared'} is not a directory of this user"
    )


def test_the_engine_must_be_a_unix_socket(tmp_path: Path) -> None:
    with pytest.raises(ServerError) as raised:
        engine_socket({"DOCKER_HOST": "tcp://10.0.0.1:2375"})
    assert str(raised.value).startswith(
        "DOCKER_HOST=tcp://10.0.0.1:2375 is not a Unix socket: a pool's containers can only "
        "reach the engine through its socket mounted inside"
    )
    with pytest.raises(ServerError) as raised:
        engine_socket({"DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    assert str(raised.value).startswith(f"{tmp_path}/none.sock is not a Docker engine socket")


class Listed:
    """What ``containers.list`` returns of one container: its labels and removal."""

    def __init__(self, owner: str) -> None:
        self.labels = {LABEL_OWNER: f"{socket.gethostname()}:{owner}"}
        self.name, self.attrs, self.removed = owner, {}, False

    def remove(self, force: bool) -> None:
        self.removed = True


class Engine:
    def __init__(self, *containers: Listed) -> None:
        self.containers = self
        self.listed = containers

    def list(self, **_: Any) -> tuple[Listed, ...]:
        return self.listed


def test_the_reaper_judges_only_owners_in_its_own_scratch_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's container shares the host's engine and name but not its scratch: an owner it
    cannot see (the host's /tmp) or read (another user's root) is not taken for dead."""
    monkeypatch.setenv("HUNTLINE_SCRATCH", str(tmp_path / "mine"))
    dead_here = Listed(str(tmp_path / "mine" / "run-1-gone"))
    out_of_sight = Listed(str(tmp_path / "pool" / RUN_ROOT / "run-2-live"))
    assert reap_orphans(Engine(dead_here, out_of_sight)) == [dead_here.name]
    assert dead_here.removed and not out_of_sight.removed

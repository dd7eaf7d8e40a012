"""The intel watcher runs on the schedule ``hunts/intel.yaml`` gives it (``watch:``), checked
like a book's ``schedule:``; without one it pulls every 15 minutes."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline.errors import IntelError
from huntline.intel.model import load_feeds
from huntline.schedule.specs import WATCH_NAME, desired_specs

FEEDS = "feeds:\n  sample:\n    kind: list\n    path: x.txt\n"


def watch_of(hunts: Path) -> tuple[str | None, str]:
    specs = desired_specs(hunts, hunts, load_feeds(hunts / "intel.yaml"))
    [watch] = [spec for spec in specs if spec.name == WATCH_NAME]
    return watch.cron, watch.timezone


def test_the_watch_schedule_comes_from_intel_yaml(tmp_path: Path) -> None:
    (tmp_path / "intel.yaml").write_text(
        'watch: {cron: "0 * * * *", timezone: Europe/Paris}\n' + FEEDS
    )
    assert watch_of(tmp_path) == ("0 * * * *", "Europe/Paris")


def test_without_watch_it_pulls_every_15_minutes_in_utc(tmp_path: Path) -> None:
    (tmp_path / "intel.yaml").write_text(FEEDS)
    assert watch_of(tmp_path) == ("*/15 * * * *", "UTC")
    (tmp_path / "intel.yaml").write_text('watch: {cron: "*/5 * * * *"}\n' + FEEDS)
    assert watch_of(tmp_path) == ("*/5 * * * *", "UTC")


@pytest.mark.parametrize(
    ("watch", "message"),
    [
        ('{cron: "*/99 * * *"}', 'watch.cron: Invalid cron string: "*/99 * * *"'),
        (
            '{cron: "*/5 * * * *", timezone: Mars/Base}',
            "watch.timezone: unknown time zone 'Mars/Base': use an IANA name such as UTC or "
            "Europe/Paris",
        ),
        ('{cron: "*/5 * * * *", tz: UTC}', "watch.tz: unknown key"),
        ("{timezone: UTC}", "watch.cron: required but missing"),
    ],
)
def test_a_bad_watch_schedule_names_the_file_and_field(
    tmp_path: Path, watch: str, message: str
) -> None:
    path = tmp_path / "intel.yaml"
    path.write_text(f"watch: {watch}\n" + FEEDS)
    with pytest.raises(IntelError) as caught:
        load_feeds(path)
    assert str(caught.value) == f"{path}: invalid intel feeds file\n  {path}:1 {message}"


def test_the_repository_watch_schedule_is_valid(repo_root: Path) -> None:
    watch = load_feeds(repo_root / "hunts/intel.yaml").watch
    assert (watch.cron, watch.timezone) == ("*/15 * * * *", "UTC")

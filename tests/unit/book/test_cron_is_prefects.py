"""Issue 21 items 1 and 11: a book's cron is checked with the PyPI croniter, not by importing
Prefect; these tests keep that check the server's own. If a Prefect upgrade changes the
croniter it vendors, the first test fails and constraints.txt's croniter pin must follow."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import croniter
import pytest
from pydantic import ValidationError

from huntline.book.schedule import Cron


def _syntax(path: Path) -> str:
    return ast.dump(ast.parse(path.read_text(encoding="utf-8")))


def test_the_installed_croniter_is_the_one_prefect_vendors() -> None:
    prefect = importlib.util.find_spec("prefect")
    assert prefect is not None and prefect.submodule_search_locations is not None
    vendored = Path(next(iter(prefect.submodule_search_locations)), "_vendor", "croniter")
    installed = Path(croniter.__file__).parent
    for name in ("__init__.py", "croniter.py"):
        assert _syntax(installed / name) == _syntax(vendored / name), name


NEVER_FIRE = {"0 0 31 2 *", "0 0 30 2 *"}
CRONS = [
    "*/30 * * * *",
    "0 9 * * mon-fri",
    "0 0 L * *",
    "0 0 * * 1#2",
    "@daily",
    "@hourly",
    "0 0 31 2 *",
    "0 0 30 2 *",
    "61 * * * *",
    "*/0 3 * * *",
    "0 3 * * mon-fir",
    "*/99 * * *",
    "0 0 1 1 * 0",
    "0 0 1 1 * 0 2030",
    "H * * * *",
    "R * * * *",
    "h h * * *",
    "",
    "not a cron",
    "0 0 ? * *",
]


@pytest.mark.parametrize("cron", CRONS)
def test_what_prefect_refuses_is_refused(cron: str) -> None:
    """Everything Prefect's ``CronSchedule`` refuses, a book refuses too (a book also refuses
    the 6- and 7-field forms and a cron that never fires, which Prefect lets through)."""
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=cron)
        prefect_accepts = True
    except ValidationError:
        prefect_accepts = False
    try:
        Cron(cron=cron)
        book_accepts = True
    except ValidationError:
        book_accepts = False
    assert book_accepts <= prefect_accepts
    if prefect_accepts and len(cron.split()) == 5 and cron not in NEVER_FIRE:
        assert book_accepts, cron

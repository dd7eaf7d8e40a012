"""Run a hunt book's test cases through the real compiled flow and say what differed.

Each case gets its own temporary directory: one STIX bundle per ``get`` variable (see
:mod:`huntline.booktest.sample`), a copy of the book whose ``get`` steps read those bundles, and
object storage under it. The copy runs through :func:`huntline.prefect.hunt_flow.hunt` itself, on
the Prefect server in ``PREFECT_API_URL``, with its analytics in their real images, as a dry run
(nothing is delivered), over a window around the sample data. What it raised is then compared with
what the case expects.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel

from huntline.alert import AlertRecord
from huntline.book import kind_of
from huntline.book.files import TESTS_SUFFIX, book_paths
from huntline.booktest.sample import run_window, write_bundle
from huntline.booktest.spec import (
    Case,
    Expected,
    LoadedTests,
    load_tests,
    tests_file_for,
)
from huntline.errors import HuntlineError
from huntline.expressions import ConditionError, evaluate, parse_condition
from huntline.schemes import has_scheme
from huntline.scratch import process_dir
from huntline.steps.book_checks import load_hunt
from huntline.yamlfile import load_yaml


class CaseResult(BaseModel):
    """One case, after it ran: ``differences`` is empty when it passed."""

    tests_file: str
    book: str
    case: str
    passed: bool
    seconds: float
    differences: list[str]
    alerts: list[str]
    flow_run_id: str | None = None


def discover(paths: Sequence[Path]) -> tuple[list[LoadedTests], list[CaseResult]]:
    """The tests files under ``paths`` (books, tests files or folders), and a failed result for
    each book that has none: every book must carry tests."""
    found = {path: load_tests(path) for path in paths if path.name.endswith(TESTS_SUFFIX)}
    missing: list[CaseResult] = []
    for book in book_paths(paths):
        sidecar = tests_file_for(book)
        if sidecar.is_file():
            found.setdefault(sidecar, load_tests(sidecar))
        else:
            missing.append(
                CaseResult(
                    tests_file=str(sidecar),
                    book=str(book),
                    case="(no tests)",
                    passed=False,
                    seconds=0.0,
                    differences=[f"- tests in {sidecar}", "+ no such file"],
                    alerts=[],
                )
            )
    return list(found.values()), missing


def run_all(files: Iterable[LoadedTests], python: bool = False) -> list[CaseResult]:
    return [run_case(tests, case, python) for tests in files for case in tests.tests.cases]


def run_case(tests: LoadedTests, case: Case, python: bool = False) -> CaseResult:
    """Run one case through the flow and compare what it raised with what the case expects.

    With ``python``, analytics named by image (``docker://NAME`` or ``NAME``) run in-process
    through the python runner (``python://NAME``) instead of their images: quicker, for hosts
    without a Docker engine, but without the container's lock-down.
    """
    started = time.perf_counter()

    def result(differences: list[str], alerts: list[AlertRecord], run_id: str | None) -> CaseResult:
        return CaseResult(
            tests_file=str(tests.path),
            book=str(tests.book),
            case=case.name,
            passed=not differences,
            seconds=round(time.perf_counter() - started, 2),
            differences=differences,
            alerts=[alert.title for alert in alerts],
            flow_run_id=run_id,
        )

    with tempfile.TemporaryDirectory(prefix="test-", dir=process_dir()) as scratch:
        workdir = Path(scratch)
        try:
            book_path, window = _prepare(tests, case, workdir, python)
        except HuntlineError as problem:
            return result([f"+ cannot prepare the case: {problem}"], [], None)
        alerts, failure, run_id = _run_flow(book_path, window, workdir, case.indicators)
    return result(compare(case.expect, alerts, failure), alerts, run_id)


def _prepare(
    tests: LoadedTests, case: Case, workdir: Path, python: bool = False
) -> tuple[Path, tuple[datetime, datetime]]:
    """Write each variable's bundle and a copy of the book that reads them."""
    book = load_hunt(tests.book)
    fetched = (kind_of(step).fetches(step) for step in book.steps)
    gets = dict(found for found in fetched if found is not None)  # variable -> entity type
    unknown = sorted(set(case.data) - set(gets))
    if unknown:
        raise HuntlineError(
            f"data for {', '.join(unknown)}, which no get step sets "
            f"(get steps set: {', '.join(gets) or 'nothing'})"
        )
    spans = []
    sources: dict[str, str] = {}
    for variable, entity in gets.items():
        bundle = workdir / f"{variable}.json"
        spans.append(write_bundle(tests, case, case.data.get(variable), entity, bundle))
        sources[variable] = f"file://{bundle}"
    # the book as the book loader reads it (keys as written), to write a copy
    raw = load_yaml(tests.book, HuntlineError, "hunt book").data
    for step in raw["steps"]:
        if isinstance(step, dict) and step.get("get") in sources:
            step["from"] = sources[step["get"]]
            step.pop("window", None)
        if python and isinstance(step, dict) and isinstance(step.get("apply"), str):
            step["apply"] = in_process(step["apply"])
    copy = workdir / tests.book.name
    copy.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return copy, run_window(spans, case)


def in_process(reference: str) -> str:
    """``docker://NAME`` or ``NAME`` as ``python://NAME``; other references stay as they are."""
    name = reference.removeprefix("docker://")
    plain = not has_scheme(name) and "/" not in name and ":" not in name
    return f"python://{name}" if plain else reference


def _run_flow(
    book: Path,
    window: tuple[datetime, datetime],
    workdir: Path,
    indicators: dict[str, list[str]] | None,
) -> tuple[list[AlertRecord], str | None, str | None]:
    from huntline.prefect.hunt_flow import hunt

    state: Any = hunt(
        book=str(book),
        start=window[0],
        stop=window[1],
        dry_run=True,
        storage=f"file://{workdir / 'store'}",
        indicators=indicators,
        return_state=True,
    )
    run_id = str(state.state_details.flow_run_id)
    if not state.is_completed():
        failure = state.result(raise_on_failure=False)
        message = failure.message if isinstance(failure, HuntlineError) else str(failure)
        return [], message, run_id
    return list(state.result().alerts), None, run_id


def compare(expect: Expected, alerts: list[AlertRecord], error: str | None) -> list[str]:
    """What differs between the run and the case, as ``- expected`` / ``+ got`` lines."""
    if expect.error is not None:
        if error is None:
            return [
                f"- the run fails with {expect.error!r}",
                f"+ it completed: {len(alerts)} alert(s)",
            ]
        if expect.error not in error:
            return [f"- the run fails with {expect.error!r}", f"+ it failed with {error!r}"]
        return []
    if error is not None:
        return ["- the run completes", f"+ it failed: {error}"]
    differences: list[str] = []
    count = expect.alerts
    if count is not None and not (
        count.holds(len(alerts)) if not isinstance(count, int) else count == len(alerts)
    ):
        differences += [f"- alerts: {count}", f"+ alerts: {len(alerts)}"]
    frame = alerts_table(alerts)
    for condition in expect.all:
        failing = [] if frame.empty else _failing(condition, frame)
        if failing:
            differences += [
                f"- every alert meets: {condition}",
                f"+ {len(failing)} of {len(frame)} do not: {'; '.join(dict.fromkeys(failing))}",
            ]
    for condition in expect.any:
        if frame.empty or len(_failing(condition, frame)) == len(frame):
            differences += [f"- some alert meets: {condition}", f"+ none of {len(frame)} does"]
    return differences


def _failing(condition: str, frame: pd.DataFrame) -> list[str]:
    """Titles of the alerts that do not meet ``condition``; one reason for all of them when it
    cannot be evaluated (it reads a column the alerts lack)."""
    try:
        mask = evaluate(parse_condition(condition), frame)
    except ConditionError as error:
        return [f"every one: {error.message}"] * len(frame)
    return [str(title) for title in frame.loc[~mask, "title"]]


def alerts_table(alerts: list[AlertRecord]) -> pd.DataFrame:
    """Alerts as rows a condition reads: their fields, then title, severity, entity and tags."""
    rows = [
        {
            **alert.fields,
            "title": alert.title,
            "severity": alert.severity,
            "entity_id": alert.entity_id,
            "entity_type": alert.entity_type,
            "tags": ",".join(alert.tags),
        }
        for alert in alerts
    ]
    return pd.DataFrame(rows)

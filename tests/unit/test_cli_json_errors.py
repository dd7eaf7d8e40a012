"""``--json`` on a failure (issue 23, item 5): stdout carries ``{"error": {...}}`` (kind,
message, hint, the failed step, the flow run), stderr the usual message, and the exit code
stays 1 (3 for a bug), so scripts and CI that read stdout never get 0 bytes."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from huntline import cli
from huntline.errors import DataSourceError, HuntlineError, failing_step

BOOKS = Path(__file__).parents[1] / "files" / "books"


def test_a_broken_book_prints_its_problems_as_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # never contacted
    book = BOOKS / "dataflow.yaml"
    assert cli.main(["run", str(book), "--json"]) == 1
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert error["kind"] == "BookError"
    assert error["message"] == f"{book}: 4 problems"
    assert len(error["problems"]) == 4 and all(p.startswith(f"{book}:") for p in error["problems"])
    assert error["step"] is None and error["flow_run_url"] is None
    assert f"error: {book}: 4 problems" in captured.err


def test_an_unreachable_server_prints_kind_message_and_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, repo_root: Path
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert cli.main(["run", str(repo_root / "hunts/suspicious_processes.yaml"), "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "ServerError"
    assert error["message"].startswith(
        "the Prefect server at PREFECT_API_URL=http://127.0.0.1:9/api does not answer"
    )
    assert error["hint"].startswith("start it, or unset PREFECT_API_URL")


def test_a_bug_prints_an_unexpected_error_and_keeps_exit_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HUNTLINE_STATE_DIR", str(tmp_path))

    def boom(args: object) -> int:
        raise RuntimeError("bug")

    monkeypatch.setattr(cli.book, "cmd_compile", boom)
    assert cli.main(["compile", "x.yaml", "--json"]) == 3
    error = json.loads(capsys.readouterr().out)["error"]
    (log,) = (tmp_path / "logs").glob("crash-*.log")
    assert error == {
        "kind": "unexpected",
        "message": "RuntimeError: bug",
        "hint": f"this is a bug in huntline: the traceback is in {log}",
        "step": None,
        "flow_run_url": None,
    }


def test_without_json_stdout_stays_empty(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert cli.main(["run", str(BOOKS / "dataflow.yaml")]) == 1
    assert capsys.readouterr().out == ""


def test_failing_step_names_the_step_and_survives_pickling() -> None:
    with pytest.raises(HuntlineError) as raised, failing_step("01_apply"):
        raise DataSourceError("down", hint="start it", source="edr")
    copy = pickle.loads(pickle.dumps(raised.value))
    assert copy.context == {"source": "edr", "failed_step": "01_apply"}
    assert copy.hint == "start it"


def test_failing_step_keeps_the_innermost_step() -> None:
    with pytest.raises(HuntlineError) as raised, failing_step("outer"), failing_step("00_get"):
        raise DataSourceError("down")
    assert raised.value.context["failed_step"] == "00_get"

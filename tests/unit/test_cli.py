"""The huntline command: exit codes and messages as a user sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huntline import cli

BOOKS = Path(__file__).parents[1] / "files" / "books"


def test_validate_ok_and_broken(capsys: pytest.CaptureFixture[str], repo_root: Path) -> None:
    assert cli.main(["validate", str(repo_root / "hunts" / "suspicious_processes.yaml")]) == 0
    assert "✓" in capsys.readouterr().out
    assert cli.main(["validate", str(BOOKS / "valid.yaml"), str(BOOKS / "malformed.yaml")]) == 1
    captured = capsys.readouterr()
    assert f"✓ {BOOKS / 'valid.yaml'}" in captured.out
    assert f"✗ {BOOKS / 'malformed.yaml'}: 6 problems" in captured.err
    assert f"{BOOKS / 'malformed.yaml'}:9 steps[0].wehre: unknown key (did you mean 'where'?)" in (
        captured.err
    )


def test_compile_explain_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        [
            "compile",
            "--explain",
            str(BOOKS / "valid.yaml"),
            "--json",
            "--start",
            "2024-06-01T00:00:00Z",
            "--stop",
            "2024-06-02T00:00:00",
        ]
    )
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    assert [task["task"] for task in plan["tasks"]] == [
        "00_get",
        "01_get",
        "02_apply",
        "03_apply",
        "alert",
    ]
    assert "STOP t'2024-06-02T00:00:00.000Z'" in plan["tasks"][0]["does"]


def test_compile_explain_table(capsys: pytest.CaptureFixture[str], repo_root: Path) -> None:
    assert (
        cli.main(["compile", "--explain", str(repo_root / "hunts/suspicious_processes.yaml")]) == 0
    )
    out = capsys.readouterr().out
    assert "kestrel-analytics-susp_scoring" in out and "00_get" in out


def test_run_rejects_broken_book_before_starting_anything(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # never contacted
    assert cli.main(["run", str(BOOKS / "dataflow.yaml")]) == 1
    err = capsys.readouterr().err
    assert f"error: {BOOKS / 'dataflow.yaml'}: 4 problems" in err


def test_unreachable_prefect_server_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, repo_root: Path
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert cli.main(["run", str(repo_root / "hunts/suspicious_processes.yaml")]) == 1
    err = capsys.readouterr().err
    assert "the Prefect server at PREFECT_API_URL=http://127.0.0.1:9/api does not answer" in err
    assert "hint: start it, or unset PREFECT_API_URL" in err


def test_unexpected_errors_exit_3_with_a_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HUNTLINE_STATE_DIR", str(tmp_path))

    def boom(args: object) -> int:
        raise RuntimeError("bug")

    monkeypatch.setattr(cli.book, "cmd_validate", boom)
    assert cli.main(["validate", "x.yaml"]) == 3
    assert "unexpected error: bug" in capsys.readouterr().err
    (log,) = (tmp_path / "logs").glob("crash-*.log")
    assert "RuntimeError: bug" in log.read_text()


def test_datasources_list_and_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, unused_port: int
) -> None:
    monkeypatch.setenv("STIXSHIFTER_EDR_CONNECTOR", "mysql")
    monkeypatch.setenv(
        "STIXSHIFTER_EDR_CONNECTION",
        json.dumps(
            {"host": "127.0.0.1", "port": unused_port, "database": "h", "options": {"table": "e"}}
        ),
    )
    monkeypatch.setenv(
        "STIXSHIFTER_EDR_CONFIG", json.dumps({"auth": {"username": "u", "password": "s3cret"}})
    )
    monkeypatch.setenv("STIXSHIFTER_SIEM_CONNECTOR", "qradr")
    monkeypatch.setenv("STIXSHIFTER_SIEM_CONNECTION", "{}")
    monkeypatch.setenv("STIXSHIFTER_SIEM_CONFIG", "{}")
    assert cli.main(["datasources", "list"]) == 0
    listing = capsys.readouterr().out
    assert "edr" in listing and "siem" in listing and "s3cret" not in listing

    assert cli.main(["datasources", "check", "siem"]) == 1
    err = capsys.readouterr().err
    assert "diagnosis: wrong connector name" in err
    assert "hint: did you mean 'qradar'?" in err

    assert cli.main(["datasources", "check", "edr"]) == 1
    err = capsys.readouterr().err
    assert "diagnosis: unreachable" in err and "s3cret" not in err


def test_datasources_check_says_a_connector_error_once(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    unused_port: int,
) -> None:
    """stix-shifter logs the errors it returns; the report already gives them, diagnosed."""
    monkeypatch.setenv("STIXSHIFTER_ES_CONNECTOR", "elastic_ecs")
    monkeypatch.setenv(
        "STIXSHIFTER_ES_CONNECTION",
        json.dumps({"host": "127.0.0.1", "port": unused_port, "indices": "logs"}),
    )
    monkeypatch.setenv("STIXSHIFTER_ES_CONFIG", json.dumps({"auth": {"api_key": "k3y"}}))
    assert cli.main(["datasources", "check", "es"]) == 1
    err = capsys.readouterr().err
    assert "diagnosis: unreachable" in err
    assert not [r for r in caplog.records if "connector error occurred" in r.getMessage()]


@pytest.mark.parametrize(
    ("option", "value"), [("--processes", "0"), ("--run-timeout", "-5"), ("--recycle", "0")]
)
def test_worker_rejects_values_not_above_zero(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["worker", option, value])
    assert exited.value.code == 2
    assert f"huntline worker: error: argument {option}: must be above 0, not {value}" in (
        capsys.readouterr().err
    )


def test_server_start_sets_its_workers_processes(capsys: pytest.CaptureFixture[str]) -> None:
    from huntline.prefect.worker import _command

    args = cli.build_parser().parse_args(["server", "start", "--processes", "10"])
    assert args.processes == 10
    assert _command("pool", "huntline", args.processes)[-2:] == ["--processes", "10"]
    assert _command("process", "huntline", args.processes)[-2:] == ["--limit", "10"]
    assert cli.build_parser().parse_args(["server", "start"]).processes is None  # the worker's 4
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["server", "start", "--processes", "0"])
    assert "--processes: must be above 0, not 0" in capsys.readouterr().err

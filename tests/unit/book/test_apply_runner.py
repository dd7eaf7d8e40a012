"""An ``apply:`` that names a runner that does not exist fails ``validate`` (and ``run``, before
anything starts) with the runners that do exist; ``python://`` is one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline import cli

BOOK = """id: 5d0a3c1e-3f0b-4f43-9a5e-1b2f6f0c9a71
title: runners
steps:
  - get: p
    entity: process
    from: file://hunts/data/sample_endpoint_bundle.json
  - apply: {apply}
    on: p
"""
RUNNERS = "known: docker://, python://"


def book(tmp_path: Path, apply: str) -> Path:
    path = tmp_path / "book.yaml"
    path.write_text(BOOK.format(apply=apply))
    return path


@pytest.mark.parametrize(
    ("apply", "problem"),
    [
        (
            "pyhton://susp_scoring",
            f"unknown analytics runner 'pyhton://' (did you mean 'python://'?); {RUNNERS}",
        ),
        ("r://x", f"unknown analytics runner 'r://'; {RUNNERS}"),
    ],
)
def test_an_unknown_runner_fails_validate_with_the_runners_that_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], apply: str, problem: str
) -> None:
    path = book(tmp_path, apply)
    assert cli.main(["validate", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"✗ {path}: 1 problem",
        f"  {path}:7 steps[1].apply: {problem}",
    ]


def test_an_unknown_runner_stops_run_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # never contacted
    path = book(tmp_path, "pyhton://susp_scoring")
    assert cli.main(["run", str(path)]) == 1
    assert f"{path}:7 steps[1].apply: unknown analytics runner 'pyhton://'" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "apply", ["python://susp_scoring", "docker://susp_scoring", "susp_scoring", "ghcr.io/x/y:1"]
)
def test_the_runners_that_exist_pass(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    repo_root: Path,
    apply: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(repo_root)
    path = book(tmp_path, apply)
    assert cli.main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"✓ {path}")

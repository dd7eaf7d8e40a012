"""Issue 23, item 10: ``docker://susp_scorin`` passed validate, then the run's hint said to build
the misspelt image. The images this host knows (built, buildable) now give "did you mean"."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline import cli
from huntline.analytics.images import list_images
from huntline.analytics.known_images import KnownImages


@pytest.fixture
def known(repo_root: Path) -> KnownImages:
    root = repo_root / "analytics_images"
    built = frozenset({"kestrel-analytics-plot:latest", "ghcr.io/acme/scoring:1.0"})
    return KnownImages(built, frozenset(list_images(root)), Path("analytics_images"))


def test_a_misspelt_name_gets_the_known_one(known: KnownImages) -> None:
    assert known.problem("docker://susp_scorin") == (
        "docker://susp_scorin: no image kestrel-analytics-susp_scorin is built on this Docker "
        "host, and analytics_images/ has no folder susp_scorin/ to build it from (did you mean "
        "docker://susp_scoring?)"
    )


def test_built_and_buildable_images_pass(known: KnownImages) -> None:
    for reference in ("docker://susp_scoring", "plot", "ghcr.io/acme/scoring:1.0"):
        assert known.problem(reference) is None, reference


def test_a_registry_reference_is_matched_against_built_tags(known: KnownImages) -> None:
    assert known.problem("ghcr.io/acme/scorin:1.0") == (
        "ghcr.io/acme/scorin:1.0: no image ghcr.io/acme/scorin:1.0 is built on this Docker host "
        "(did you mean ghcr.io/acme/scoring:1.0?)"
    )
    assert not KnownImages.is_analytics("ghcr.io/acme/scorin:1.0")


def test_without_an_engine_only_the_folders_are_known(known: KnownImages) -> None:
    folders_only = KnownImages(None, known.buildable, known.root)
    assert folders_only.problem("docker://plot") is None
    assert folders_only.problem("docker://susp_scorin") == (
        "docker://susp_scorin: no image kestrel-analytics-susp_scorin is known, and "
        "analytics_images/ has no folder susp_scorin/ to build it from (did you mean "
        "docker://susp_scoring?)"
    )


@pytest.mark.docker
def test_validate_fails_on_the_misspelt_image(
    docker_client: object,
    repo_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(repo_root)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # no server: not needed
    book = tmp_path / "susp.yaml"
    text = (repo_root / "hunts/suspicious_processes.yaml").read_text()
    book.write_text(text.replace("docker://susp_scoring", "docker://susp_scorin"))
    assert cli.main(["validate", str(book)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"✗ {book}: 1 problem",
        f"  {book} steps[1].apply: docker://susp_scorin: no image kestrel-analytics-susp_scorin "
        "is built on this Docker host, and analytics_images/ has no folder susp_scorin/ to "
        "build it from (did you mean docker://susp_scoring?)",
    ]


@pytest.mark.docker
def test_the_run_time_hint_does_not_say_to_build_a_misspelt_image(
    docker_client: object, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huntline.analytics.docker_runner import _inspect
    from huntline.errors import AnalyticsError

    monkeypatch.chdir(repo_root)
    with pytest.raises(AnalyticsError) as caught:
        _inspect(docker_client, "kestrel-analytics-susp_scorin")  # type: ignore[arg-type]
    assert caught.value.message == "image kestrel-analytics-susp_scorin not found"
    assert caught.value.hint == (
        "kestrel-analytics-susp_scorin: no image kestrel-analytics-susp_scorin is built on this "
        "Docker host, and analytics_images/ has no folder susp_scorin/ to build it from (did "
        "you mean docker://susp_scoring?); `huntline images list` shows this host's images"
    )

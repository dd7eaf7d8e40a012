"""The analytics stage against a real Docker engine: real images, real containers.

Images are built once per session on the local base image with the host CA bundle (pip runs
behind a TLS-inspecting proxy here). Each failure case checks the message, that the logs come
along, and that no container is left behind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from huntline.analytics.docker_runner import ContainerLimits, run_container
from huntline.analytics.images import build_image, list_images
from huntline.analytics.merge import merge_output_file
from huntline.errors import AnalyticsError

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
FILES = REPO / "tests" / "files"
PREFIX = "huntline-test-analytics-"
TAG = ":test"  # a tag makes it a full reference, used as is (a bare name gets the Kestrel prefix)
BUILD_TIMES: dict[str, float] = {}


@pytest.fixture(scope="session")
def images(build_test_image: Callable[..., str], base_image: str) -> dict[str, str]:
    """Every image the tests run, built once; build durations land in BUILD_TIMES."""

    def build(name: str, root: Path, base: str, tag: str | None = None) -> str:
        started = time.monotonic()
        built = build_test_image(name, root, tag, base)
        BUILD_TIMES[built] = time.monotonic() - started
        return built

    built = {"susp_scoring": build("susp_scoring", REPO / "analytics_images", base_image)}
    built["template"] = build("kestrel_template", FILES, base_image, PREFIX + "template" + TAG)
    for name in ("crash", "hang", "garbage", "probe"):
        built[name] = build(f"analytics_{name}", FILES, base_image, PREFIX + name + TAG)
    built["drop_id"] = build(
        "analytics_drop_id", FILES, built["template"], PREFIX + "drop_id" + TAG
    )
    print("image build times (s):", {k: round(v, 1) for k, v in BUILD_TIMES.items()})
    return built


@pytest.fixture
def procs(shared_data: Path) -> Path:
    return shared_data / "parquet" / "procs.parquet.gz"


@pytest.fixture
def no_leftovers(docker_client: Any) -> Callable[[], None]:
    """Assert that no huntline analytics container is left (``docker ps -a``)."""
    before = {c.id for c in docker_client.containers.list(all=True)}

    def check() -> None:
        left = [
            c.name
            for c in docker_client.containers.list(
                all=True, filters={"label": "huntline.analytics"}
            )
            if c.id not in before
        ]
        assert left == [], f"containers left behind: {left}"

    return check


def test_all_image_folders_are_listed() -> None:
    assert "susp_scoring" in list_images(REPO / "analytics_images")


def test_template_image_runs_unchanged(
    images: dict[str, str], procs: Path, tmp_path: Path, no_leftovers: Callable[[], None]
) -> None:
    result = run_container(images["template"], [procs], {}, tmp_path / "run")
    variable = pd.read_parquet(procs)
    merged = merge_output_file(variable, result.outputs[0], image=result.image)
    assert merged["x_new_attr"].tolist() == [f"newval{i}" for i in range(len(variable))]
    assert merged["id"].tolist() == variable["id"].tolist()
    assert result.display is not None and result.display.name == "ret.html"
    assert result.display.read_text() == "<p>Hello World! -- a Kestrel analytics</p>"
    assert result.image_id.startswith("sha256:")
    no_leftovers()


def test_susp_scoring_on_sample_procs(
    images: dict[str, str], procs: Path, tmp_path: Path, no_leftovers: Callable[[], None]
) -> None:
    golden = json.loads((REPO / "analytics_images/susp_scoring/tests/data/golden.json").read_text())
    expected = {row["id"]: row["score"] for row in golden if row["table"] == "procs"}
    result = run_container("docker://susp_scoring", [procs], {}, tmp_path / "run")
    merged = merge_output_file(pd.read_parquet(procs), result.outputs[0], image=result.image)
    assert dict(zip(merged["id"], merged["x_suspicious_score"], strict=True)) == expected
    assert result.display is None
    no_leftovers()


def test_snappy_input_is_rewritten_as_gzip(
    images: dict[str, str], procs: Path, tmp_path: Path
) -> None:
    snappy = tmp_path / "procs.parquet"
    pd.read_parquet(procs).to_parquet(snappy, compression="snappy")
    result = run_container(images["template"], [snappy], {}, tmp_path / "run")
    import pyarrow.parquet as pq

    written = pq.ParquetFile(tmp_path / "run" / "input" / "0.parquet.gz")
    assert written.metadata.row_group(0).column(0).compression == "GZIP"
    assert 0 in result.outputs


def test_crash_gives_exit_code_and_logs(
    images: dict[str, str], procs: Path, tmp_path: Path, no_leftovers: Callable[[], None]
) -> None:
    with pytest.raises(AnalyticsError) as info:
        run_container(images["crash"], [procs], {}, tmp_path / "run")
    error = info.value
    assert str(error).startswith(f"analytics {images['crash']} failed with exit code 1\n")
    assert "scoring step 2 of 3" in str(error)
    assert "boom: column command_line is missing" in str(error)
    assert error.context["exit_code"] == 1
    no_leftovers()


def test_hang_is_killed_at_the_timeout(
    images: dict[str, str], procs: Path, tmp_path: Path, no_leftovers: Callable[[], None]
) -> None:
    started = time.monotonic()
    with pytest.raises(AnalyticsError) as info:
        run_container(images["hang"], [procs], {}, tmp_path / "run", ContainerLimits(timeout=3))
    assert time.monotonic() - started < 30
    assert f"analytics {images['hang']} timed out after 3 s and was killed" in str(info.value)
    assert "thinking very hard" in info.value.context["logs"]
    no_leftovers()


def test_garbage_output_is_a_clear_error(
    images: dict[str, str], procs: Path, tmp_path: Path, no_leftovers: Callable[[], None]
) -> None:
    result = run_container(images["garbage"], [procs], {}, tmp_path / "run")
    with pytest.raises(AnalyticsError) as info:
        merge_output_file(pd.read_parquet(procs), result.outputs[0], image=result.image)
    assert str(info.value).startswith(
        f"analytics {images['garbage']} wrote output/0.parquet.gz, "
        "which is not a readable parquet file"
    )
    no_leftovers()


def test_dropped_id_is_a_clear_error(
    images: dict[str, str], procs: Path, tmp_path: Path, no_leftovers: Callable[[], None]
) -> None:
    result = run_container(images["drop_id"], [procs], {}, tmp_path / "run")
    with pytest.raises(AnalyticsError) as info:
        merge_output_file(pd.read_parquet(procs), result.outputs[0], image=result.image)
    assert str(info.value) == (
        f"analytics {images['drop_id']} wrote output/0.parquet.gz without the required "
        "column(s) id\n"
        "  hint: an analytics output must keep the `id` and `type` columns of its input"
    )
    no_leftovers()


def test_an_image_neither_built_nor_buildable_is_not_told_to_build_itself(
    docker_client: object, tmp_path: Path, procs: Path
) -> None:
    """Needs an engine to ask: without one the error is "cannot reach", another test."""
    with pytest.raises(AnalyticsError) as info:
        run_container("docker://no_such_analytics", [procs], {}, tmp_path / "run")
    assert str(info.value) == (
        "image kestrel-analytics-no_such_analytics not found\n"
        "  hint: kestrel-analytics-no_such_analytics: no image "
        "kestrel-analytics-no_such_analytics is built on this Docker host, and analytics_images/ "
        "has no folder no_such_analytics/ to build it from; `huntline images list` shows this "
        "host's images"
    )


def test_container_is_locked_down(
    images: dict[str, str], procs: Path, tmp_path: Path, no_leftovers: Callable[[], None]
) -> None:
    params = {"probe_list": ["a", "b"], "probe_flag": True}
    result = run_container(images["probe"], [procs], params, tmp_path / "run")
    assert result.display is not None
    facts = json.loads(result.display.read_text())
    assert facts["interfaces"] == ["lo"]
    assert facts["can_connect"] is False
    assert facts["root_writable"] is False
    assert facts["tmp_writable"] is True
    assert facts["output_writable"] is True
    assert (facts["uid"], facts["gid"]) == (65534, 65534)
    assert int(facts["cap_eff"], 16) == 0
    assert facts["no_new_privs"] == "1"
    assert facts["env"] == {"probe_list": "a,b", "probe_flag": "true"}
    no_leftovers()


def test_two_displays_break_the_contract(
    images: dict[str, str], procs: Path, tmp_path: Path
) -> None:
    workdir = tmp_path / "run"
    (workdir / "display").mkdir(parents=True)
    (workdir / "display" / "extra.html").write_text("<p>left over</p>")
    with pytest.raises(AnalyticsError) as info:
        run_container(images["template"], [procs], {}, workdir)
    assert "wrote 2 displays (display/extra.html, display/ret.html)" in str(info.value)


def test_build_failure_carries_the_step_output(docker_client: Any, base_image: str) -> None:
    with pytest.raises(AnalyticsError) as info:
        build_image(
            "analytics_build_fail",
            base_image=base_image,
            root=FILES,
            tag=PREFIX + "build_fail" + TAG,
            client=docker_client,
        )
    message = str(info.value)
    assert message.startswith(f"building {PREFIX}build_fail{TAG} failed at Step 3/3 : RUN echo")
    assert "returned a non-zero code: 3" in message
    assert "compiling rules" in message and "rule 7 is broken" in message

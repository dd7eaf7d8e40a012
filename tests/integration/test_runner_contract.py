"""The contract every analytics runner meets, run against each runner in the registry.

Each runner runs the Kestrel template analytics (``tests/files/kestrel_template``, as an image
for Docker and as its ``analytics.py`` in a child process for Python) on the same input, and
must lay out the same results: ``output/0.parquet.gz`` with the new column and every row kept by
``id``, one display, a log, and an identity of what ran. A runner added to ``RUNNERS`` without a
way to run the template here fails ``test_every_runner_is_under_contract``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from huntline.analytics.docker_runner import ContainerLimits
from huntline.analytics.merge import merge_output_file
from huntline.analytics.runners import RUNNERS, runner_for, scheme_of
from huntline.errors import AnalyticsError

FILES = Path(__file__).resolve().parents[1] / "files"
TEMPLATE = FILES / "kestrel_template"


def _docker(request: pytest.FixtureRequest) -> str:
    build: Callable[..., str] = request.getfixturevalue("build_test_image")
    return build("kestrel_template", FILES, "huntline-test-analytics-template:test")


def _python(request: pytest.FixtureRequest) -> str:
    return f"python://{TEMPLATE / 'analytics.py'}:analytics"


#: How each runner's scheme reaches the template analytics.
TEMPLATE_REFERENCE: dict[str, Callable[[pytest.FixtureRequest], str]] = {
    "docker": _docker,
    "python": _python,
}


def test_every_runner_is_under_contract() -> None:
    assert set(TEMPLATE_REFERENCE) == set(RUNNERS)
    assert all(scheme == runner.scheme for scheme, runner in RUNNERS.items())


@pytest.mark.parametrize("scheme", sorted(RUNNERS))
def test_runner_meets_the_contract(
    scheme: str, request: pytest.FixtureRequest, shared_data: Path, tmp_path: Path
) -> None:
    procs = shared_data / "parquet" / "procs.parquet.gz"
    reference = TEMPLATE_REFERENCE[scheme](request)
    runner = runner_for(reference)
    assert runner is RUNNERS[scheme] and scheme_of(reference) == scheme
    assert runner.explain(reference) and runner.target(reference)

    result = runner.run(reference, [procs], {}, tmp_path / "run", ContainerLimits(timeout=120))

    assert set(result.outputs) == {0}
    assert result.outputs[0].name == "0.parquet.gz"
    variable = pd.read_parquet(procs)
    merged = merge_output_file(variable, result.outputs[0], image=result.image)
    assert merged["id"].tolist() == variable["id"].tolist()
    assert merged["x_new_attr"].tolist() == [f"newval{i}" for i in range(len(variable))]
    assert result.display is not None
    assert result.display.read_text() == "<p>Hello World! -- a Kestrel analytics</p>"
    assert result.image == runner.target(reference) and result.image_id


@pytest.mark.parametrize("scheme", sorted(RUNNERS))
def test_runner_reports_a_missing_analytics_as_an_analytics_error(
    scheme: str, shared_data: Path, tmp_path: Path
) -> None:
    missing = {"docker": "docker://no_such_analytics", "python": "python://no_such_analytics"}
    with pytest.raises(AnalyticsError, match="no_such_analytics"):
        RUNNERS[scheme].run(
            missing[scheme],
            [shared_data / "parquet" / "procs.parquet.gz"],
            {},
            tmp_path / "run",
            ContainerLimits(timeout=60),
        )

"""Which runner runs an ``apply`` reference: ``python://`` in this process, the rest in Docker.

One function, so the apply step does not care where an analytics runs; both runners lay out
their results the same way (``output/{i}.parquet.gz``, ``display/*.html``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from huntline.analytics.docker_runner import ContainerLimits, ContainerResult, run_container
from huntline.analytics.python_runner import is_python, run_python


def run_analytics(
    reference: str,
    input_files: Sequence[Path],
    params: Mapping[str, object],
    workdir: Path,
    limits: ContainerLimits | None = None,
) -> ContainerResult:
    """Run the analytics ``reference`` names on ``input_files`` (see the two runners)."""
    if is_python(reference):
        return run_python(reference, input_files, params, workdir)
    return run_container(reference, input_files, params, workdir, limits or ContainerLimits())

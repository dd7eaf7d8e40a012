"""Checks of a book's ``apply`` steps against what their images declare, for ``validate``.

They run before any container: a step that runs an image needing the network without
``network: true`` would fail at run time in a way that looks like the remote service is down,
and a misspelt parameter would fail only after the fetch. Both are reported as warnings by
``huntline validate`` (the runner refuses an unknown parameter at run time anyway).

Labels come from the Dockerfile in ``analytics_images/<NAME>/`` when there is one (what the
user edits, and what ``huntline images build`` builds), else from the local Docker engine (a
registry image, or one built elsewhere); with neither, the step is not checked. The folder
comes first also because the Docker client's import alone costs about 0.12 s CPU, a quarter of
what ``validate`` may take (``bench/startup.py``); the runner checks the built image's own
labels before it starts a container.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huntline.analytics import contract
from huntline.analytics.images import DEFAULT_ROOT
from huntline.analytics.labels import ImageLabels, check_parameters, dockerfile_labels
from huntline.book import ApplyStep
from huntline.errors import AnalyticsError

PYTHON_SCHEME = "python://"


def image_labels(
    reference: str, *, root: Path = DEFAULT_ROOT, client: Any = None
) -> ImageLabels | None:
    """The labels of the image behind ``reference``, or None when nothing says."""
    image = contract.image_for(reference)
    name = contract.analytics_name(image)
    dockerfile = root / name / "Dockerfile" if name else None
    if dockerfile is not None and dockerfile.is_file():
        return ImageLabels.parse(dockerfile_labels(dockerfile))
    return _engine_labels(image, client)


def _engine_labels(image: str, client: Any) -> ImageLabels | None:
    """The labels of ``image`` as the local Docker engine has it; None when there is no engine
    to ask or it lacks the image."""
    import docker
    from docker.errors import DockerException
    from requests import RequestException

    try:
        engine = client or docker.from_env()
    except DockerException:  # no engine here
        return None
    try:
        return ImageLabels.parse(engine.images.get(image).labels)
    except (DockerException, RequestException):  # not built, or no engine answers
        return None
    finally:
        if client is None:
            engine.close()


def step_warnings(step_id: str, step: ApplyStep, labels: ImageLabels | None) -> list[str]:
    """What is wrong with one apply step, given its image's labels."""
    if labels is None:
        return []
    warnings = []
    if labels.network and not step.network:
        warnings.append(
            f"step {step_id}: {step.apply} needs the network (image label huntline.network) "
            "but the step does not set network: true; it will run without network"
        )
    try:
        check_parameters(contract.image_for(step.apply), labels.parameters, step.with_)
    except AnalyticsError as error:
        warnings.append(f"step {step_id}: {error}")
    return warnings


def apply_warnings(
    step_id: str, step: ApplyStep, *, root: Path = DEFAULT_ROOT, client: Any = None
) -> list[str]:
    """Warnings for one ``apply`` step: its python:// module, or its image's labels."""
    if step.apply.startswith(PYTHON_SCHEME):
        return python_warnings(step_id, step.apply, root)
    return step_warnings(step_id, step, image_labels(step.apply, root=root, client=client))


def python_warnings(step_id: str, reference: str, root: Path) -> list[str]:
    """A python:// step whose file does not exist (the module is not imported here: that
    would run its code at validation)."""
    import importlib.util

    from huntline.analytics.python_runner import resolve

    module, _ = resolve(reference, root)
    if module.endswith(".py") or "/" in module:
        return [] if Path(module).is_file() else [f"step {step_id}: {reference}: no file {module}"]
    if importlib.util.find_spec(module.split(".")[0]) is None:  # finds, does not import
        return [f"step {step_id}: {reference}: no module {module} (nor {root / module}/)"]
    return []

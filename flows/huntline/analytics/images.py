"""Build analytics images from ``analytics_images/<name>/`` as ``kestrel-analytics-<name>``.

Why a staged build context: the Dockerfiles must stay buildable by real users with a plain
``docker build`` on ``python:3.11-slim``, yet these hosts have no registry and sit behind a
TLS-inspecting proxy. So every Dockerfile takes ``ARG BASE_IMAGE`` (public default) and
``COPY extra-ca.crt``. The builder copies the image folder into a temporary context and adds
``extra-ca.crt``: the given CA bundle, or an empty file. The Dockerfile appends a non-empty
bundle to the system one for pip only, so the finished image trusts nothing extra.

The docker SDK drives the classic builder, so Dockerfiles must not need BuildKit features.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huntline.analytics import contract
from huntline.analytics.labels import ImageLabels
from huntline.errors import AnalyticsError
from huntline.scratch import process_dir

if TYPE_CHECKING:  # the SDK is imported when an image is built or listed, not to check a book
    import docker

log = logging.getLogger(__name__)

CA_FILE = "extra-ca.crt"
DEFAULT_ROOT = Path("analytics_images")
# Not part of an image: tests, caches and local artefacts.
CONTEXT_IGNORE = shutil.ignore_patterns(
    "tests", "__pycache__", ".pytest_cache", "*.pyc", ".ruff_cache", CA_FILE
)

Progress = Callable[[str], None]


def list_images(root: Path = DEFAULT_ROOT) -> list[str]:
    """Names of the image folders under ``root`` (folders holding a Dockerfile), sorted."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "Dockerfile").is_file())


def image_dir(name_or_dir: str | Path, root: Path = DEFAULT_ROOT) -> Path:
    """The folder for an image name, or the folder itself when a directory is given."""
    candidate = Path(name_or_dir)
    if candidate.is_dir() and (candidate / "Dockerfile").is_file():
        return candidate
    folder = root / str(name_or_dir)
    if (folder / "Dockerfile").is_file():
        return folder
    known = ", ".join(list_images(root)) or "none"
    raise AnalyticsError(
        f"no analytics image folder {name_or_dir!r} (looked in {root}/)",
        image=str(name_or_dir),
        hint=f"known images: {known}",
    )


def build_image(
    name_or_dir: str | Path,
    *,
    base_image: str | None = None,
    ca_bundle: Path | None = None,
    tag: str | None = None,
    root: Path = DEFAULT_ROOT,
    progress: Progress | None = None,
    client: docker.DockerClient | None = None,
) -> str:
    """Build one analytics image and return its tag.

    Args:
        name_or_dir: An image name under ``root`` or a folder with a Dockerfile.
        base_image: Passed as ``--build-arg BASE_IMAGE``; None keeps the Dockerfile default.
        ca_bundle: A PEM bundle pip should trust in addition to the system CAs (for a
            TLS-inspecting proxy). None stages an empty ``extra-ca.crt``.
        tag: The image tag; by default ``kestrel-analytics-<folder name>``.
        root: Where image folders live.
        progress: Called with each line of build output (default: debug log).
        client: A Docker client to reuse.

    Raises:
        AnalyticsError: the folder or CA bundle is missing, or a build step failed (the
            message carries that step's output).
    """
    folder = image_dir(name_or_dir, root)
    image_tag = tag or contract.IMAGE_PREFIX + folder.name
    if ca_bundle is not None and not ca_bundle.is_file():
        raise AnalyticsError(
            f"CA bundle {ca_bundle} not found",
            file=str(ca_bundle),
            hint="pass the proxy's PEM bundle, e.g. /etc/ssl/certs/ca-certificates.crt",
        )
    import docker
    from docker.errors import DockerException

    emit = progress or (lambda line: log.debug("%s", line))
    build_args = {"BASE_IMAGE": base_image} if base_image else {}
    own_client = client is None
    docker_client = client or docker.from_env()
    try:
        with tempfile.TemporaryDirectory(prefix="build-", dir=process_dir()) as tmp:
            context = stage_context(folder, Path(tmp) / "context", ca_bundle)
            stream = docker_client.api.build(
                path=str(context),
                tag=image_tag,
                buildargs=build_args,
                rm=True,
                forcerm=True,
                decode=True,
            )
            follow_build(stream, image_tag, emit, base_image)
    except DockerException as error:
        raise AnalyticsError(
            f"building {image_tag} failed: {error}", image=image_tag, hint=_hint(str(error))
        ) from error
    finally:
        if own_client:
            docker_client.close()
    return image_tag


def stage_context(folder: Path, context: Path, ca_bundle: Path | None) -> Path:
    """Copy the image folder to ``context`` and add ``extra-ca.crt`` (empty without a CA).

    Links are copied as links, and one that leads out of the folder is refused: following it
    would bake a host file (``data -> /etc/shadow``) into the image, where its analytics
    reads it. Docker's own build context sends links as links too.
    """
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
            shown = path.relative_to(folder)
            raise AnalyticsError(
                f"image folder {folder.name} holds {shown}, a link out of the folder "
                f"(to {os.readlink(path)}); it is not copied into the build",
                file=str(path),
                hint="copy the file into the folder instead of linking to it",
            )
    shutil.copytree(folder, context, ignore=CONTEXT_IGNORE, symlinks=True)
    target = context / CA_FILE
    if ca_bundle is not None:
        shutil.copyfile(ca_bundle, target)
    else:
        target.write_bytes(b"")
    return context


def follow_build(
    stream: Iterable[Mapping[str, Any]], tag: str, emit: Progress, base_image: str | None
) -> None:
    """Relay build output line by line; raise with the failing step's output on error."""
    step = "(before the first step)"
    step_lines: list[str] = []
    for chunk in stream:
        for line in str(chunk.get("stream", "")).splitlines():
            if line.startswith("Step "):
                step, step_lines = line, []
            elif line.strip():
                step_lines.append(line)
            emit(line)
        if "error" in chunk:
            error = str(chunk.get("error", "")).strip()
            output = "\n".join(f"    {line}" for line in step_lines[-30:])
            raise AnalyticsError(
                f"building {tag} failed at {step}: {error}"
                + (f"\n  step output:\n{output}" if output else ""),
                image=tag,
                step=step,
                output="\n".join(step_lines),
                hint=_hint(error + "\n" + "\n".join(step_lines), base_image),
            )


def _hint(error: str, base_image: str | None = None) -> str | None:
    text = error.lower()
    if "pull access denied" in text or ("manifest" in text and "not found" in text):
        return (
            "the base image is not on this host and no registry was reachable: build one with "
            "scripts/build_base_image.sh and pass --base-image"
            + (f" (was {base_image})" if base_image else "")
        )
    if "certificate verify failed" in text or "sslerror" in text:
        return "pip does not trust this network's proxy: pass --ca-bundle with its CA bundle"
    if "docker.sock" in text or "connection refused" in text:
        return "start dockerd (or set DOCKER_HOST)"
    return None


@dataclass(frozen=True)
class ImageInfo:
    """One image folder and, when built, what the Docker engine knows of its image."""

    name: str
    tag: str
    image_id: str | None  # the content digest (sha256:...), None when not built
    created: str | None
    size_mb: float | None
    labels: ImageLabels


def describe_images(root: Path = DEFAULT_ROOT, client: Any = None) -> list[ImageInfo]:
    """Every image folder under ``root`` with its built image, if any (for ``images list``)."""
    import docker
    from docker.errors import DockerException, ImageNotFound

    own_client = client is None
    docker_client = client or docker.from_env()
    infos = []
    try:
        for name in list_images(root):
            tag = contract.IMAGE_PREFIX + name
            try:
                image = docker_client.images.get(tag)
            except ImageNotFound:
                infos.append(ImageInfo(name, tag, None, None, None, ImageLabels()))
                continue
            attrs = image.attrs
            infos.append(ImageInfo(name, tag, str(image.id), str(attrs.get("Created", ""))[:19],
                                   round(int(attrs.get("Size", 0)) / 1e6, 1),
                                   ImageLabels.parse(image.labels)))  # fmt: skip
    except DockerException as error:
        raise AnalyticsError(
            f"cannot reach a Docker engine: {error}", hint="start dockerd (or set DOCKER_HOST)"
        ) from error
    finally:
        if own_client:
            docker_client.close()
    return infos

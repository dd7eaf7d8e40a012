"""What an analytics image declares about itself, read from its labels.

huntline's images carry labels (set in their Dockerfiles) that the runners and ``huntline
validate`` act on before any container starts:

``huntline.parameters``
    The ``with:`` names the analytics understands, comma-separated. A step that passes another
    name fails before the run with a did-you-mean, instead of the analytics ignoring it.
``huntline.mounts``
    Parameters whose value is a file on the host (e.g. ``mmdb``, a GeoIP database). The
    Docker runner mounts that one file read-only and passes its path inside the container.
``huntline.network``
    ``true`` when the analytics needs the network; ``network: true`` must be set on the step.
``huntline.version``
    The image's own version, shown by ``huntline images list``.

Images without labels (every Kestrel image) are run as before: no check, no mount.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from huntline.errors import AnalyticsError

PREFIX = "huntline."
MOUNT_ROOT = PurePosixPath("/mnt/huntline")


@dataclass(frozen=True)
class ImageLabels:
    """The declarations of one image; ``parameters`` is None when it declares none."""

    parameters: frozenset[str] | None = None
    mounts: frozenset[str] = frozenset()
    network: bool = False
    version: str | None = None

    @classmethod
    def parse(cls, labels: Mapping[str, str] | None) -> ImageLabels:
        labels = labels or {}

        def names(key: str) -> frozenset[str] | None:
            raw = labels.get(PREFIX + key)
            return None if raw is None else frozenset(n.strip() for n in raw.split(",") if n)

        return cls(
            parameters=names("parameters"),
            mounts=names("mounts") or frozenset(),
            network=labels.get(PREFIX + "network", "").strip().lower() == "true",
            version=labels.get(PREFIX + "version"),
        )


def dockerfile_labels(dockerfile: Path) -> dict[str, str]:
    """The ``LABEL key="value" ...`` pairs of a Dockerfile (continuation lines joined).

    Used when an image is not built yet, so ``huntline validate`` can still tell what a
    step's image declares. Only the quoted ``key="value"`` form huntline's Dockerfiles use.
    """
    import shlex

    text = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
    labels: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip().upper().startswith("LABEL "):
            for pair in shlex.split(line.strip()[len("LABEL ") :]):
                key, _, value = pair.partition("=")
                labels[key] = value
    return labels


def check_parameters(
    image: str, declared: frozenset[str] | None, given: Mapping[str, object]
) -> None:
    """Raise for a ``with:`` name the analytics does not declare (no check without a list)."""
    if declared is None:
        return
    unknown = sorted(set(given) - declared)
    if not unknown:
        return
    guesses = [
        f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
        for name in unknown
        for close in [difflib.get_close_matches(name, sorted(declared), n=1)]
    ]
    raise AnalyticsError(
        f"analytics {image} has no parameter {', '.join(guesses)}",
        image=image,
        unknown=unknown,
        hint=f"its parameters: {', '.join(sorted(declared)) or 'none'}",
    )


def file_mounts(
    image: str, mounts: frozenset[str], params: Mapping[str, object]
) -> tuple[dict[str, object], dict[str, dict[str, str]]]:
    """Parameters with host files replaced by their path in the container, and the volumes.

    Each file is mounted read-only at ``/mnt/huntline/<parameter>/<file name>``. A missing
    file is an error here, before a container starts.
    """
    rewritten = dict(params)
    volumes: dict[str, dict[str, str]] = {}
    for name in sorted(mounts & set(params)):
        host = Path(str(params[name])).expanduser()
        if not host.is_file():
            raise AnalyticsError(
                f"analytics {image}: parameter {name} names {host}, which does not exist",
                image=image,
                parameter=name,
                file=str(host),
                hint=f"point {name} at a readable file on this host",
            )
        inside = MOUNT_ROOT / name / host.name
        volumes[str(host.resolve())] = {"bind": str(inside), "mode": "ro"}
        rewritten[name] = str(inside)
    return rewritten, volumes

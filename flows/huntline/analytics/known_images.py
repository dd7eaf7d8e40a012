"""Whether the image an ``apply`` step names exists, or could be built, before anything runs.

Why: ``docker://susp_scorin`` passed ``validate``, and the run then failed with the hint to
build the misspelt image. The registry of known images is what this host can run: the images
built on its Docker engine and the folders of ``analytics_images/`` it can build. A name in
neither gets a "did you mean" from both. Without a reachable engine only the folders are
known, so a missing image is then a warning (it may be built on the worker's host), not an
error.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huntline.analytics import contract
from huntline.analytics.images import DEFAULT_ROOT, list_images


@dataclass(frozen=True)
class KnownImages:
    """The images this host can run: built (None when no engine answered) and buildable."""

    built: frozenset[str] | None
    buildable: frozenset[str]
    root: Path = DEFAULT_ROOT

    @classmethod
    def scan(cls, root: Path = DEFAULT_ROOT, client: Any = None) -> KnownImages:
        """The images built on the local engine (every tag) and the folders under ``root``."""
        return cls(_built_tags(client), frozenset(list_images(root)), root)

    def problem(self, reference: str) -> str | None:
        """Why ``reference`` cannot run on this host, with a "did you mean"; None if it can
        (built, or buildable by ``huntline images build NAME``)."""
        image = contract.image_for(reference)
        name = contract.analytics_name(image)
        if name in self.buildable or self._built(image):
            return None
        where = "is built on this Docker host" if self.built is not None else "is known"
        folder = f", and {self.root}/ has no folder {name}/ to build it from" if name else ""
        return f"{reference}: no image {image} {where}{folder}{self._guess(image, name)}"

    @staticmethod
    def is_analytics(reference: str) -> bool:
        """Whether ``reference`` names a ``kestrel-analytics-NAME`` image (not a registry's)."""
        return contract.analytics_name(contract.image_for(reference)) is not None

    def _built(self, image: str) -> bool:
        return self.built is not None and (image in self.built or f"{image}:latest" in self.built)

    def _guess(self, image: str, name: str | None) -> str:
        """``(did you mean docker://NAME?)`` among the known short names, else full tags."""
        short = {contract.analytics_name(tag) for tag in self.built or ()} - {None}
        names = sorted({*self.buildable, *(n for n in short if n)})
        if name is not None:
            close = difflib.get_close_matches(name, names, n=1)
            return f" (did you mean {contract.DOCKER_SCHEME}{close[0]}?)" if close else ""
        close = difflib.get_close_matches(image, sorted(self.built or ()), n=1)
        return f" (did you mean {close[0]}?)" if close else ""


def buildable(reference: str, root: Path = DEFAULT_ROOT) -> bool:
    """Whether ``root`` has the folder that builds ``reference``'s analytics image: such a
    reference can run here whatever the engine holds, so checking it needs no engine (the
    Docker client's import and its calls are most of a ``validate``)."""
    return contract.analytics_name(contract.image_for(reference)) in list_images(root)


def _built_tags(client: Any) -> frozenset[str] | None:
    """Every tag on the local Docker engine, or None when no engine answers."""
    try:
        import docker

        engine = client or docker.from_env()
        try:
            return frozenset(tag for image in engine.images.list() for tag in image.tags)
        finally:
            if client is None:
                engine.close()
    except Exception:  # no engine (or none reachable): only the folders are known
        return None

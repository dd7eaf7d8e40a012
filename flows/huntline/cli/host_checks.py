"""What ``huntline validate`` checks beyond the book: what this host and its Prefect server
can tell before a run (issue 23, item 10).

- Each ``apply`` image is built here or buildable from ``analytics_images/``
  (:class:`~huntline.analytics.known_images.KnownImages`), with a "did you mean". Without a
  Docker engine, or for a registry reference (``ghcr.io/acme/x:1``), a missing image is a
  warning: the worker's host may have it.
- Each ``prefect-secret://`` destination names a Secret block that exists, when a Prefect
  server answers (``PREFECT_API_URL``, or huntline's own local server); without one the block
  is checked when the alerts are sent, and validate says so.

The book's own problems are the loader's; these need Docker or the Prefect API, which a book
must not depend on to load.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from huntline.analytics.known_images import KnownImages, buildable
from huntline.book import ApplyStep, HuntBook
from huntline.errors import HuntlineError


@dataclass(frozen=True)
class SecretBlocks:
    """The Prefect server that answers, and whether a Secret block of a name exists there."""

    api_url: str
    exists: Callable[[str], bool]


@dataclass
class HostFindings:
    """Problems (validate fails) and warnings (it does not) for one book."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def host_findings(
    book: HuntBook,
    path: str,
    known: Callable[[], KnownImages],
    servers: Callable[[], SecretBlocks | None],
) -> HostFindings:
    """Check ``book``'s images and secret destinations; each finding names ``path`` and the
    field (``hunts/x.yaml steps[1].apply: ...``). ``known`` gives the host's images and
    ``servers`` the Prefect server's Secret blocks: they ask the Docker engine and the server,
    so each is called only for a book that needs it (an image no folder of
    ``analytics_images/`` builds; a secret destination), which keeps ``validate`` quick."""
    found = HostFindings()
    for index, step in enumerate(book.steps):
        if isinstance(step, ApplyStep) and _docker(step.apply) and not buildable(step.apply):
            images = known()
            problem = images.problem(step.apply)
            # Certain only for an analytics name, with an engine to ask: a registry reference
            # may be pulled onto the worker's host.
            certain = images.built is not None and images.is_analytics(step.apply)
            if problem:
                (found.problems if certain else found.warnings).append(
                    f"{path} steps[{index}].apply: {problem}"
                )
    if book.alert is not None:
        for index, block in secret_destinations(book.alert.notify):
            at = f"{path} alert.notify[{index}]"
            blocks = servers()
            if blocks is None:
                found.warnings.append(
                    f"{at}: Prefect Secret block {block!r} not checked: no Prefect server "
                    "answers (it is loaded when the alerts are sent)"
                )
            elif not blocks.exists(block):
                found.problems.append(
                    f"{at}: no Prefect Secret block {block!r} on the server at "
                    f"{blocks.api_url} (create it: prefect block create "
                    f"secret, or Secret(value='json://...').save({block!r}))"
                )
    return found


def secret_destinations(notify: list[str]) -> list[tuple[int, str]]:
    """``(index in notify, block name)`` of every destination kept in a Prefect Secret block,
    named in the book or through ``destinations.yaml``."""
    from huntline.alert.destinations import destinations_file, load_destinations
    from huntline.fetch.sources.secrets import SECRET_SCHEME

    try:
        named = load_destinations(destinations_file()) if notify else {}
    except HuntlineError:
        named = {}  # the loader reports an unreadable destinations file
    found = []
    for index, spec in enumerate(notify):
        url = named.get(spec, spec)
        if url.startswith(SECRET_SCHEME) and url[len(SECRET_SCHEME) :]:
            found.append((index, url[len(SECRET_SCHEME) :]))
    return found


def _docker(reference: str) -> bool:
    """Whether an apply reference names a Docker image (``docker://NAME``, or no scheme)."""
    from huntline.analytics.runners import scheme_of

    return scheme_of(reference) == "docker"


def prefect_secret_blocks() -> SecretBlocks | None:
    """A check of Secret blocks on the Prefect server that answers (``PREFECT_API_URL``, or
    huntline's running local server), or None when none does. Nothing is started."""
    from huntline.prefect.server import healthy, running_local_server, state_dir

    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        local = running_local_server(state_dir() / "prefect")
        api_url = local.api_url if local else None
    if not api_url or not healthy(api_url):
        return None

    from huntline.prefect.client import secret_block_exists

    return SecretBlocks(api_url, lambda name: secret_block_exists(api_url, name))

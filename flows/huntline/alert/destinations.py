"""Named destinations, from a ``destinations.yaml`` beside ``stixshifter.yaml``.

A book's ``notify:`` lists URLs or names. Names are looked up in the file given by
``$HUNTLINE_DESTINATIONS``, else ``./destinations.yaml``::

    destinations:
      soc-webhook: json://hooks.corp.example/huntline
      soc-mail:
        url: prefect-secret://soc-mail-url     # the whole URL in a Prefect Secret block

A URL that holds a token belongs in a Prefect Secret block: it is loaded when the alerts are
sent (the same loader the data source profiles use), so no token sits in a book, a file or git,
and it never appears in a log, an error or the ledger, which record the name instead.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from huntline.alert.sink_registry import redact
from huntline.errors import AlertError
from huntline.fetch.sources.secrets import SECRET_SCHEME
from huntline.schemes import has_scheme
from huntline.secret_store import load_secret
from huntline.yamlfile import load_yaml, located

FILE_ENV = "HUNTLINE_DESTINATIONS"
DEFAULT_FILE = Path("destinations.yaml")


@dataclass(frozen=True)
class Destination:
    """A destination as a book names it (``label``: safe to log and store) and its URL, which
    may still be a ``prefect-secret://`` reference."""

    label: str
    url: str

    @property
    def secret(self) -> bool:
        return self.url.startswith(SECRET_SCHEME)


def destinations_file() -> Path:
    return Path(os.environ.get(FILE_ENV) or DEFAULT_FILE)


def load_destinations(path: Path | None = None) -> dict[str, str]:
    """The named destinations (name → URL or secret reference); empty if there is no file.

    Raises:
        AlertError: The file is invalid; each of its ``problems`` names the file and line.
    """
    path = path or destinations_file()
    if not path.is_file():
        return {}
    document = load_yaml(path, AlertError, "destinations file")
    problems = list(document.problems)
    data = document.data if document.data is not None else {}
    entries = data.get("destinations") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        problems.append(document.at((), "expected a mapping 'destinations: {NAME: URL}'"))
        entries = {}
    named: dict[str, str] = {}
    for name, value in entries.items():
        url = value.get("url") if isinstance(value, dict) else value
        if not isinstance(url, str) or not has_scheme(url):
            at = ("destinations", name)
            problems.append(document.at(at, "expected a URL or {url: URL}"))
            continue
        named[str(name)] = url
    if problems:
        raise located(AlertError, f"{path}: invalid destinations file", problems, str(path))
    return named


def spec_problem(spec: str, named: dict[str, str], path: Path) -> str | None:
    """Why a ``notify:`` entry cannot be used, or None: checked when a book is validated."""
    from huntline.alert.sink_registry import url_problem

    if not has_scheme(spec):
        if spec in named:
            url = named[spec]
            return None if url.startswith(SECRET_SCHEME) else url_problem(url)
        guesses = difflib.get_close_matches(spec, named, n=1)
        known = ", ".join(sorted(named)) or f"none: {path} does not exist or lists none"
        guess = f" (did you mean {guesses[0]!r}?)" if guesses else ""
        return f"unknown destination {spec!r}{guess}; known: {known}"
    if spec.startswith(SECRET_SCHEME):
        return None
    return url_problem(spec)


def resolve(spec: str, named: dict[str, str]) -> Destination:
    """The destination a ``notify:`` entry means (its URL may still be a secret reference)."""
    if has_scheme(spec):
        label = spec if spec.startswith(SECRET_SCHEME) else redact(spec)
        return Destination(label=label, url=spec)
    if spec not in named:
        raise AlertError(
            f"unknown destination {spec!r}",
            hint=f"define it in {destinations_file()} (destinations: {{{spec}: URL}})",
        )
    return Destination(label=spec, url=named[spec])


def destination_url(destination: Destination) -> str:
    """The real URL, loading a Prefect Secret block if need be (at send time only)."""
    if not destination.secret:
        return destination.url
    block = destination.url[len(SECRET_SCHEME) :]
    create = (
        f"create it: prefect block create secret, or Secret(value='json://...').save({block!r})"
    )

    from huntline.coroutines import run_coroutine  # asyncio: not on validate's path

    try:
        value = run_coroutine(load_secret(block))
    except ValueError:  # how Prefect says the block does not exist (its text names no value)
        raise AlertError(
            f"destination {destination.label}: no Prefect Secret block {block!r} on the "
            f"Prefect server ({os.environ.get('PREFECT_API_URL') or 'PREFECT_API_URL'})",
            hint=create,
        ) from None
    except Exception as error:  # only its type: a message could quote what was loaded
        raise AlertError(
            f"destination {destination.label}: cannot load Prefect Secret block {block!r}: "
            f"{type(error).__name__}",
            hint=f"check that the Prefect server at PREFECT_API_URL answers, or {create}",
        ) from None
    if not isinstance(value, str) or not has_scheme(value):
        raise AlertError(f"destination {destination.label}: secret {block!r} holds no URL")
    return value

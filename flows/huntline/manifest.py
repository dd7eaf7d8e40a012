"""The run manifest: what one run read, ran and wrote, as a typed and versioned record.

Every run leaves ``<hunt-id>/<run-date>/<flow-run-id>/manifest.json`` (completed or failed): the
book and its sha256, each step's :class:`~huntline.steps.context.StepOutput` (tables with hashes,
images and their ids, queries, warnings, a gate's result), the time windows, the alerts and their
delivery, and library versions. It holds no data source settings, so no secret can leak through it.
``huntline runs`` and anything replaying a run read it back through :func:`parse_manifest`, which
names the manifest and the field at fault, and tells an old or newer manifest from a damaged one.

The JSON stays what it was before the manifest was typed (times are ISO 8601 with ``+00:00``),
plus ``manifest_version``: raise :data:`MANIFEST_VERSION` whenever a field changes meaning or
becomes required, so that a reader never misreads a manifest it does not know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, PlainSerializer, ValidationError

from huntline.alert.section import SectionResult
from huntline.errors import StorageError
from huntline.steps.context import StepOutput
from huntline.storage import TableRef

MANIFEST_VERSION: Literal[1] = 1

#: A moment in UTC, written as ``datetime.isoformat`` does (``2024-06-03T00:00:00+00:00``).
Instant = Annotated[datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HuntInfo(_Record):
    """The hunt the run belongs to, as its book said at the time."""

    id: str
    title: str
    level: str
    tags: list[str] = []


class BookInfo(_Record):
    """The book file that ran, and the sha256 of its bytes."""

    path: str
    sha256: str


class WindowInfo(_Record):
    """The time window a step searched: ``[start, stop)``."""

    start: Instant
    stop: Instant


class AlertSummary(_Record):
    """What the alert section raised, stored and delivered."""

    count: int
    table: TableRef | None = None
    jsonl: str | None = None
    evidence: TableRef | None = None
    delivery: SectionResult | None = None
    #: A ``fail`` gate failed: these are what the hunt would have raised, stored, not sent.
    gated: bool = False


class RunManifest(_Record):
    """One run's manifest (``manifest.json``)."""

    manifest_version: Literal[1] = MANIFEST_VERSION
    hunt: HuntInfo
    book: BookInfo
    flow_run_id: str
    flow_run_url: str | None = None
    recorded_at: Instant
    dry_run: bool = False
    status: Literal["completed", "failed"]
    error: str | None = None
    windows: dict[str, WindowInfo] = {}
    steps: list[StepOutput] = []
    alerts: AlertSummary | None = None
    versions: dict[str, str] = {}

    def to_json(self) -> bytes:
        """The manifest as stored: indented JSON."""
        return orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_INDENT_2)


def parse_manifest(data: bytes, uri: str) -> RunManifest:
    """Read a stored manifest back.

    Raises:
        StorageError: It is not JSON, was written by a huntline whose manifests this one does
            not read (older or newer), or a field is missing or malformed (named with its path).
    """
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise StorageError(f"run manifest {uri} is not JSON: {error}", uri=uri) from error
    if not isinstance(raw, dict):
        raise StorageError(f"run manifest {uri} is not a JSON object", uri=uri)
    version = raw.get("manifest_version")
    if version != MANIFEST_VERSION:
        written = (
            "by a huntline older than versioned manifests"
            if version is None
            else f"in version {version!r}"
        )
        raise StorageError(
            f"run manifest {uri} is written {written}; this huntline reads version "
            f"{MANIFEST_VERSION}",
            uri=uri,
            hint="read it with the huntline that wrote it (its versions are inside), "
            "or run the hunt again",
        )
    try:
        return RunManifest.model_validate(raw)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise StorageError(
            f"run manifest {uri} is damaged: {where}: {problem['msg']}"
            + (f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""),
            uri=uri,
        ) from error

"""The work of each task of a hunt run, as plain functions.

The Prefect layer (:mod:`huntline.flow`) wraps these one-to-one, so they can be tested without
Prefect, and a task only ever passes small references (:class:`~huntline.storage.TableRef`) to
the next. Every table a step produces lands in object storage under
``<hunt-id>/<run-date>/<flow-run-id>/<step>/<variable>.parquet``.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from huntline.alert.alerts import (
    AlertRecord,
    RunInfo,
    alerts_frame,
    alerts_jsonl,
    build_alerts,
    evidence_frame,
)
from huntline.alert.ledger_store import ledger_store
from huntline.alert.rules import alert_groups, matching_rows
from huntline.alert.section import SectionResult, run_section
from huntline.analytics.contract import image_for
from huntline.analytics.dispatch import run_analytics
from huntline.analytics.docker_runner import ContainerLimits
from huntline.analytics.merge import merge_output_file
from huntline.book import ApplyStep, GetStep, HuntBook
from huntline.errors import AnalyticsError, DataSourceError, FetchError, HuntlineError
from huntline.fetch.entities import EntitySpool
from huntline.fetch.multi import DATASOURCE_COLUMN, fetch_sources
from huntline.fetch.pattern import with_window
from huntline.fetch.select import entity_filter
from huntline.fetch.span import empty_fetch_warning
from huntline.storage import (
    ObjectStore,
    TableRef,
    TableWriter,
    key_of,
    open_store,
    read_table,
    write_table,
)
from huntline.window import Window


class RunContext(BaseModel):
    """Where one run keeps its objects, and how it was asked to run."""

    model_config = ConfigDict(frozen=True)

    storage: str
    hunt_id: str
    run_date: str
    flow_run_id: str
    dry_run: bool = False
    flow_run_url: str | None = None

    @property
    def prefix(self) -> str:
        return f"{self.hunt_id}/{self.run_date}/{self.flow_run_id}"

    def key(self, step_id: str, name: str) -> str:
        return f"{self.prefix}/{step_id}/{name}"


class StepOutput(BaseModel):
    """What a get or apply step leaves behind: one table per variable it writes."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    tables: dict[str, TableRef]
    display_uri: str | None = None
    image: str | None = None
    image_id: str | None = None
    query: str | None = None
    source: str | None = None
    warnings: list[str] = []


class AlertOutput(BaseModel):
    """What the alert step leaves behind."""

    model_config = ConfigDict(frozen=True)

    alerts: list[AlertRecord]
    alerts_table: TableRef | None
    alerts_jsonl_uri: str | None
    evidence: TableRef | None
    delivered: bool
    delivery: SectionResult | None = None


def fetch_step(
    context: RunContext,
    step_id: str,
    step: GetStep,
    window: Window,
) -> StepOutput:
    """Fetch one ``get`` step from all its sources at once into one parquet object.

    Pages are flattened as they arrive and spooled to local disk, one spool per source, so
    memory stays bounded by the page size. Each spool then merges the occurrences of an entity
    into one row (firepit's identity rules), every row gets ``x_datasource``, and the rows are
    streamed into object storage. If a source fails part way, what was fetched so far is kept
    under ``<variable>.partial.parquet`` and the error says where.
    """
    store = open_store(context.storage)
    query = with_window(step.where, window)
    with ExitStack() as stack:
        spools: dict[str, EntitySpool] = {}
        try:
            pages = asyncio.run(_spool_pages(step, window, spools, stack))
        except (DataSourceError, FetchError) as error:
            partial = _keep_partial(
                store, context.key(step_id, f"{step.get}.partial.parquet"), spools, step
            )
            if partial is not None:
                error.context["partial"] = partial.uri
                error.message += f" (fetched so far: {partial.rows} rows, kept in {partial.uri})"
            raise
        ref = _write_entities(store, context.key(step_id, f"{step.get}.parquet"), spools, step)
    sources = ", ".join(step.sources)
    return StepOutput(
        step_id=step_id,
        tables={step.get: ref},
        query=f"{step.entity} FROM {sources} WHERE {query} ({pages} pages)",
        source=sources,
        warnings=[]
        if ref.rows
        else [empty_fetch_warning(step_id, step.get, step.entity, step.sources, window)],
    )


async def _spool_pages(
    step: GetStep,
    window: Window,
    spools: dict[str, EntitySpool],
    stack: ExitStack,
) -> int:
    pages = 0
    stream = fetch_sources(
        step.sources, step.where, window, limit=step.limit, page_size=step.page_size
    )
    async for page in stream:
        pages += 1
        # One spool for every source: each observed-data carries its x_datasource, so an
        # entity seen by several sources merges into one row naming them all.
        if not spools:
            spools[DATASOURCE_COLUMN] = stack.enter_context(EntitySpool())
        spools[DATASOURCE_COLUMN].add(page.observed)
    return pages


def _write_entities(
    store: ObjectStore, key: str, spools: dict[str, EntitySpool], step: GetStep
) -> TableRef:
    """Stream the entities of ``step.entity`` that meet the step's pattern into ``key``.

    The sources return whole observations; like Kestrel's GET, the variable keeps only the
    entities that satisfy the pattern's comparisons on their own type. Each entity is one row;
    its ``x_datasource`` names every source that saw it (``edr,siem``).
    """
    wanted = entity_filter(step.where, step.entity)
    with TableWriter(store, key) as writer:
        for spool in spools.values():  # one shared spool (see _spool_pages)
            for everything in spool.batches(step.entity):
                batch = everything.filter(wanted.mask(everything)) if wanted.applies else everything
                writer.append(batch)
        return writer.commit()


def _keep_partial(
    store: ObjectStore, key: str, spools: dict[str, EntitySpool], step: GetStep
) -> TableRef | None:
    if not any(spool.observations for spool in spools.values()):
        return None
    return _write_entities(store, key, spools, step)


def apply_step(
    context: RunContext, step_id: str, step: ApplyStep, inputs: dict[str, TableRef]
) -> StepOutput:
    """Run one analytics over its input variables and store the merged variables.

    The inputs stay in storage whatever happens. On failure the container's logs are stored
    beside the step as ``container.log`` and named in the error.
    """
    store = open_store(context.storage)
    image = image_for(step.apply)
    if all(inputs[name].rows == 0 for name in step.on):
        # Nothing to analyse: the variables stay as they are, and no container runs on empty
        # tables that most analytics would reject for their missing columns.
        return StepOutput(
            step_id=step_id, tables={name: inputs[name] for name in step.on}, image=image
        )
    with tempfile.TemporaryDirectory(prefix="huntline-apply-") as scratch:
        workdir = Path(scratch)
        # The stored objects go to the runner as they are (it lays them out as the contract
        # wants); the frames are read from the same files for the merge afterwards.
        files = [workdir / f"in-{index}.parquet" for index in range(len(step.on))]
        for name, path in zip(step.on, files, strict=True):
            store.download(key_of(store, inputs[name].uri), path)
        variables = [pd.read_parquet(path) for path in files]
        limits = ContainerLimits(timeout=step.timeout_seconds, network=step.network)
        try:
            result = run_analytics(image, files, step.with_, workdir / "data", limits)
        except AnalyticsError as error:
            logs = str(error.context.get("logs") or "")
            if logs:
                store.put_bytes(context.key(step_id, "container.log"), logs.encode())
                error.context["logs_uri"] = store.uri(context.key(step_id, "container.log"))
            raise
        store.put_bytes(context.key(step_id, "container.log"), result.logs.encode())
        tables: dict[str, TableRef] = {}
        for index, name in enumerate(step.on):
            output = result.outputs.get(index)
            merged = (
                variables[index]
                if output is None
                else merge_output_file(variables[index], output, image=image)
            )
            tables[name] = write_table(store, context.key(step_id, f"{name}.parquet"), merged)
        display_uri = None
        if result.display is not None:
            display_key = context.key(step_id, result.display.name)
            store.put_file(display_key, result.display)
            display_uri = store.uri(display_key)
    return StepOutput(
        step_id=step_id,
        tables=tables,
        display_uri=display_uri,
        image=image,
        image_id=result.image_id,
    )


def alert_step(
    context: RunContext,
    book: HuntBook,
    table: TableRef,
    raised_at: datetime,
    window: Window,
    warn: Callable[[str], None] = lambda _: None,
) -> AlertOutput:
    """Evaluate the alert rules, store evidence and alerts, then dedup, suppress and deliver
    them against the hunt's ledger (:mod:`huntline.alert.section`; a dry run sends nothing and
    leaves the ledger as it was)."""
    assert book.alert is not None
    store = open_store(context.storage)
    groups = alert_groups(matching_rows(read_table(store, table), book.alert), book.alert)
    evidence_key = context.key("alert", "evidence.parquet")
    info = RunInfo(
        flow_run_id=context.flow_run_id,
        flow_run_url=context.flow_run_url,
        window_start=window.start,
        window_stop=window.stop,
        evidence_uri=store.uri(evidence_key),
        raised_at=raised_at,
    )
    alerts = build_alerts(book, groups, info)
    evidence = alerts_table = jsonl_uri = None
    if alerts:
        evidence = write_table(store, evidence_key, evidence_frame(groups, alerts))
        alerts_table = write_table(
            store, context.key("alert", "alerts.parquet"), alerts_frame(alerts)
        )
        store.put_bytes(context.key("alert", "alerts.jsonl"), alerts_jsonl(alerts))
        jsonl_uri = store.uri(context.key("alert", "alerts.jsonl"))
    delivery = run_section(
        ledger_store(store, context.hunt_id),
        book.alert,
        alerts,
        now=raised_at,
        run_id=context.flow_run_id,
        hunt_title=book.title,
        dry_run=context.dry_run,
        warn=warn,
    )
    return AlertOutput(
        alerts=alerts,
        alerts_table=alerts_table,
        alerts_jsonl_uri=jsonl_uri,
        evidence=evidence,
        delivered=not context.dry_run,
        delivery=delivery,
    )


def failure_summary(error: BaseException) -> str:
    """One line for the manifest about why a run failed."""
    if isinstance(error, HuntlineError):
        return error.message
    return f"{type(error).__name__}: {error}"


def write_manifest(
    context: RunContext,
    *,
    book_path: str,
    book: HuntBook,
    windows: dict[str, Window],
    steps: list[StepOutput],
    alerts: AlertOutput | None,
    status: str,
    error: str | None = None,
) -> str:
    """Record what the run read, ran and wrote, so it can be inspected and replayed.

    It names inputs (the book and its sha256), each step's tables with hashes, image ids, time
    windows and library versions. It holds no data source settings, so no secret can leak here.
    """
    import hashlib
    from importlib.metadata import version

    import orjson

    book_bytes = Path(book_path).read_bytes()
    manifest = {
        "hunt": {"id": str(book.id), "title": book.title, "level": book.level, "tags": book.tags},
        "book": {"path": book_path, "sha256": hashlib.sha256(book_bytes).hexdigest()},
        "flow_run_id": context.flow_run_id,
        "flow_run_url": context.flow_run_url,
        "recorded_at": datetime.now(UTC).isoformat(),
        "dry_run": context.dry_run,
        "status": status,
        "error": error,
        "windows": {
            step_id: {"start": window.start.isoformat(), "stop": window.stop.isoformat()}
            for step_id, window in windows.items()
        },
        "steps": [step.model_dump(mode="json") for step in steps],
        "alerts": None
        if alerts is None
        else {
            "count": len(alerts.alerts),
            "table": alerts.alerts_table.model_dump(mode="json") if alerts.alerts_table else None,
            "jsonl": alerts.alerts_jsonl_uri,
            "evidence": alerts.evidence.model_dump(mode="json") if alerts.evidence else None,
            "delivery": alerts.delivery.model_dump(mode="json") if alerts.delivery else None,
        },
        "versions": {
            name: version(name)
            for name in ("huntline", "prefect", "stix-shifter", "pandas", "pyarrow", "docker")
        },
    }
    store = open_store(context.storage)
    key = f"{context.prefix}/manifest.json"
    store.put_bytes(key, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return store.uri(key)

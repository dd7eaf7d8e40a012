"""``get: VAR``: fetch the entities of one type from data sources with a STIX pattern.

How a ``get`` step runs (its model is :mod:`huntline.book.steps.get`). All sources of a step
are fetched at once into one spool on local disk; the spool merges the
occurrences of an entity into one row (firepit's identity rules), every row gets
``x_datasource``, and the rows stream into one parquet object. The fetch machinery is imported
when a step runs, not when a book loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from huntline.book.steps.get import GET, GetStep
from huntline.steps.base import Link, Report, StepAction
from huntline.window import Window

if TYPE_CHECKING:
    import pyarrow as pa

    from huntline.fetch.tables.spool import EntitySpool
    from huntline.steps.context import RunContext, StepOutput
    from huntline.storage import ObjectStore, TableRef


def _explain(step: GetStep, window: Window | None) -> str:
    from huntline.fetch.sources.pattern import with_window

    assert window is not None, "a get step always has a window"
    detail = f"{step.entity} FROM {', '.join(step.sources)} WHERE {with_window(step.where, window)}"
    return detail + (f" LIMIT {step.limit}" if step.limit else "")


def _run(
    context: RunContext,
    step_id: str,
    step: GetStep,
    inputs: Mapping[str, TableRef],
    window: Window | None,
) -> StepOutput:
    assert window is not None, "a get step always has a window (resolve_windows)"
    return fetch_step(context, step_id, step, window)


def fetch_step(
    context: RunContext,
    step_id: str,
    step: GetStep,
    window: Window,
    queries: Sequence[str] | None = None,
) -> StepOutput:
    """Fetch one ``get`` step from all its sources at once into one parquet object.

    ``queries`` are sent instead of ``step.where`` (a pack's OR split in chunks); the rows
    kept are still those that satisfy ``step.where``.

    Pages are flattened as they arrive and spooled to local disk, so memory stays bounded by
    the page size. If a source fails part way, what was fetched so far is kept under
    ``<variable>.partial.parquet`` and the error says where.
    """
    from huntline.coroutines import run_coroutine
    from huntline.errors import DataSourceError, FetchError
    from huntline.fetch import tally
    from huntline.fetch.sources.pattern import with_window
    from huntline.fetch.sources.span import empty_fetch_warning
    from huntline.fetch.tables.spool import EntitySpool
    from huntline.intel.retro import tag_table
    from huntline.steps.context import StepOutput
    from huntline.storage import open_store

    store = open_store(context.storage)
    # A retro-hunt's indicators fill the pattern's templates, in chunks; a run may override
    # the sources.
    step, retro = retro_step(step, context.indicators, context.source)
    queries = list(queries or retro)
    query = with_window(step.where, window)
    # One spool for every source: each observed-data carries its x_datasource, so an entity
    # seen by several sources (or chunks) merges into one row naming them all.
    with EntitySpool() as spool, tally.tallied() as counted:
        try:
            pages = run_coroutine(_spool_pages(step, queries, window, spool))
        except (DataSourceError, FetchError) as error:
            if spool.observations:
                key = context.key(step_id, f"{step.get}.partial.parquet")
                partial = _write_entities(store, key, spool, step)
                error.context["partial"] = partial.uri
                error.message += f" (fetched so far: {partial.rows} rows, kept in {partial.uri})"
            raise
        ref = _write_entities(store, context.key(step_id, f"{step.get}.parquet"), spool, step)
    if context.indicators:
        ref = tag_table(store, ref, context.indicators, context.intel_feed)
    sources = ", ".join(step.sources)
    warnings = (
        []
        if ref.rows
        else [empty_fetch_warning(step_id, step.get, step.entity, step.sources, window)]
    )
    if counted:  # never lose or change a value silently
        warnings.append(f"step {step_id} ({step.get}): {tally.describe(dict(counted))}")
    warnings.extend(counted.notes)
    return StepOutput(
        step_id=step_id,
        tables={step.get: ref},
        query=f"{step.entity} FROM {sources} WHERE {query} ({pages} pages)",
        source=sources,
        warnings=warnings,
        coerced=dict(counted),
    )


async def _spool_pages(
    step: GetStep,
    queries: list[str],
    window: Window,
    spool: EntitySpool,
) -> int:
    import asyncio

    from huntline.fetch.sources.multi import fetch_sources

    pages = 0
    for pattern in queries:  # one, or a retro-hunt's chunks one after the other
        stream = fetch_sources(
            step.sources, pattern, window, limit=step.limit, page_size=step.page_size
        )
        async for page in stream:
            pages += 1
            # Flattening a page is CPU work: off the loop, so the sources keep fetching.
            await asyncio.to_thread(spool.add, page.observed)
    return pages


def _write_entities(store: ObjectStore, key: str, spool: EntitySpool, step: GetStep) -> TableRef:
    """Stream the entities of ``step.entity`` that meet the step's pattern into ``key``.

    The sources return whole observations; like Kestrel's GET, the variable keeps only the
    entities that satisfy the pattern's comparisons on their own type. Each entity is one row;
    its ``x_datasource`` names every source that saw it (``edr,siem``).
    """
    from huntline.fetch import tally
    from huntline.fetch.tables.same_process import event_hosts, merge_same_processes
    from huntline.fetch.tables.select import entity_filter
    from huntline.tables import TableWriter

    wanted = entity_filter(step.where, step.entity)

    def batches() -> Iterator[pa.Table]:
        for everything in spool.batches(step.entity):
            yield everything.filter(wanted.mask(everything)) if wanted.applies else everything

    slices: Iterable[pa.Table] = batches()
    merged: dict[str, int] = {}
    if step.entity == "process":  # one process creation, one row (Sysmon 1 + Security 4688)
        slices, merged = merge_same_processes(batches, lambda ids: event_hosts(spool, ids))
    with TableWriter(store, key) as writer:
        for batch in slices:
            writer.append(batch)
        if merged.get("merged"):
            tally.count("process.same process", merged["merged"])
        return writer.commit()


def retro_step(
    step: GetStep, indicators: dict[str, list[str]], source: str | None
) -> tuple[GetStep, list[str]]:
    """The step a run fetches, and its queries.

    With indicators, ``where`` becomes the whole rendered pattern (it filters the fetched
    entities) and the queries are its chunks (:mod:`huntline.intel.template`). ``source``
    replaces the step's sources (the run's override).
    """
    from huntline.intel.template import chunked_patterns, placeholders, render

    update: dict[str, object] = {}
    queries = [step.where]
    if placeholders(step.where):
        update["where"] = render(step.where, indicators)
        queries = chunked_patterns(step.where, indicators)
    if source:
        update["sources"] = [source]
    return (step.model_copy(update=update) if update else step), queries


def _report(step_id: str, step: GetStep, output: StepOutput) -> Report:
    # An empty fetch is warned about in output.warnings: it also goes into the run summary.
    ref = output.tables[step.get]
    return Report(
        info=(f"{step_id}: {ref.rows} rows of {step.entity} into {ref.uri}",),
        links=(
            Link(
                key=f"{step_id}-{step.get}",
                uri=ref.uri,
                text=f"{step.get}: {ref.rows} rows",
                description=f"`{output.query}`",
            ),
        ),
    )


GET_ACTION = StepAction(kind=GET, explain=_explain, run=_run, report=_report)

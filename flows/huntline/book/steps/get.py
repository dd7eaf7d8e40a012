"""``get: VAR``: fetch the entities of one type from data sources with a STIX pattern.

All sources of a step are fetched at once into one spool on local disk; the spool merges the
occurrences of an entity into one row (firepit's identity rules), every row gets
``x_datasource``, and the rows stream into one parquet object. The fetch machinery is imported
when a step runs, not when a book loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, field_validator, model_validator
from stix2patterns.validator import run_validator

from huntline.book.fields import VARIABLE_NAME, OneOrMore, WindowSpec
from huntline.book.observables import every_entity_pattern, pattern_type_problems, unknown_type
from huntline.book.pattern_checks import pattern_problems
from huntline.book.quoting import quoting_hint
from huntline.book.steps.base import Link, Location, Report, ScalarSource, StepKind, StepModel
from huntline.window import Window

if TYPE_CHECKING:
    import pyarrow as pa

    from huntline.fetch.tables.spool import EntitySpool
    from huntline.steps.context import RunContext, StepOutput
    from huntline.storage import ObjectStore, TableRef


class GetStep(StepModel):
    """``get: VAR``: fetch entities of one type from a data source with a STIX pattern."""

    get: str = Field(pattern=VARIABLE_NAME, description="The variable the rows go into")
    entity: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="STIX cyber-observable type",
        examples=["process"],
    )
    sources: OneOrMore[Annotated[str, Field(min_length=1)]] = Field(
        alias="from",
        min_length=1,
        description="One or more data sources, fetched concurrently: stix-shifter profile names, "
        "file:// bundles or http(s):// bundles",
        examples=["edr", ["edr", "siem"]],
    )
    where: str = Field(
        min_length=1,
        description="STIX pattern; without it, every entity of the type "
        "(observables.every_entity_pattern)",
        examples=["[process:name = 'cmd.exe']"],
    )
    window: WindowSpec | None = None
    limit: int | None = Field(default=None, gt=0, description="At most this many observations")
    page_size: int | None = Field(
        default=None,
        gt=0,
        le=100_000,
        description="Observations per request to each source (default: the source's own, "
        "1,000, or 20,000 for connectors that re-read everything per page: stix_bundle, mysql)",
    )

    @model_validator(mode="before")
    @classmethod
    def _every_entity(cls, data: Any) -> Any:
        if isinstance(data, dict) and "where" not in data and isinstance(data.get("entity"), str):
            return {**data, "where": every_entity_pattern(data["entity"])}
        return data

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, value: str) -> str:
        problem = unknown_type(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("where")
    @classmethod
    def _pattern_shape(cls, value: str) -> str:
        stripped = value.strip()
        if not stripped.startswith("["):
            raise ValueError("a STIX pattern starts with '[', e.g. [process:name = 'cmd.exe']")
        return stripped

    @property
    def reads(self) -> tuple[str, ...]:
        return ()

    @property
    def writes(self) -> tuple[str, ...]:
        return (self.get,)


def _checks(step: GetStep, source: ScalarSource) -> list[tuple[Location, str]]:
    """The pattern parses as STIX 2.0, and can return the entity the hunter meant."""
    from huntline.intel.model import INDICATOR_TYPES
    from huntline.intel.template import sample, unknown_placeholders

    where: Location = ("where",)
    problems: list[tuple[Location, str]] = [
        (
            where,
            f"unknown indicator type intel.{kind}: use one of "
            + ", ".join(f"intel.{known}" for known in INDICATOR_TYPES),
        )
        for kind in unknown_placeholders(step.where)
    ]
    pattern = sample(step.where)  # {{ intel.TYPE }} stands for a set of indicators
    failures = run_validator(pattern, stix_version="2.0")
    for message in failures:
        hint = quoting_hint(*source(where), step.where)
        problems.append(
            (
                where,
                f"invalid STIX pattern: {message.removeprefix('FAIL: ')}"
                + (f"\n  hint: {hint}" if hint else ""),
            )
        )
    if not failures:
        found = pattern_type_problems(step.entity, pattern) + pattern_problems(pattern)
        problems.extend((where, problem) for problem in found)
    return problems


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


def fetch_step(context: RunContext, step_id: str, step: GetStep, window: Window) -> StepOutput:
    """Fetch one ``get`` step from all its sources at once into one parquet object.

    Pages are flattened as they arrive and spooled to local disk, so memory stays bounded by
    the page size. If a source fails part way, what was fetched so far is kept under
    ``<variable>.partial.parquet`` and the error says where.
    """
    import asyncio

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
    step, queries = retro_step(step, context.indicators, context.source)
    query = with_window(step.where, window)
    # One spool for every source: each observed-data carries its x_datasource, so an entity
    # seen by several sources (or chunks) merges into one row naming them all.
    with EntitySpool() as spool, tally.tallied() as counted:
        try:
            pages = asyncio.run(_spool_pages(step, queries, window, spool))
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
    from huntline.fetch.sources.multi import fetch_sources

    pages = 0
    for pattern in queries:  # one, or a retro-hunt's chunks one after the other
        stream = fetch_sources(
            step.sources, pattern, window, limit=step.limit, page_size=step.page_size
        )
        async for page in stream:
            pages += 1
            spool.add(page.observed)
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


GET = StepKind(
    keyword="get",
    model=GetStep,
    explain=_explain,
    run=_run,
    report=_report,
    checks=_checks,
    windowed=lambda step: step.window,
    sources=lambda step: step.sources,
)

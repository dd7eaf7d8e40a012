"""The Prefect layer: one generic flow that runs any hunt book, and thin tasks.

A work-pool worker can only load an importable entrypoint, so there is one flow,
``flows/hunt.py:hunt``, with the book as a parameter, rather than a flow built per book. Each
task wraps one function of :mod:`huntline.steps.finish` and passes only references between tasks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.settings import PREFECT_UI_URL
from prefect.states import Completed
from pydantic import BaseModel

from huntline.alert import AlertRecord
from huntline.alert.section import SectionResult
from huntline.alert.views import alert_status
from huntline.book import HuntBook, StepModel
from huntline.compile import Plan
from huntline.debris import clean_up
from huntline.errors import HuntlineError, QualityError, StorageError, failing_step
from huntline.prefect.ledger_limit import hunt_ledger_limit
from huntline.schedule.coverage import record_coverage
from huntline.schedule.late_runs import SKIPPED
from huntline.schedule.prepare import PreparedRun, RunRequest, prepare_run
from huntline.steps import action_of, finish
from huntline.steps.context import RunContext, StepOutput
from huntline.storage import TableRef, open_store
from huntline.window import Window, utc

ALERT_ARTIFACT_ROWS = 200


class RunSummary(BaseModel):
    """What ``huntline run --json`` prints, and what the flow returns."""

    flow_run_id: str
    hunt_id: str
    title: str
    storage: str
    manifest_uri: str
    tables: dict[str, TableRef]
    displays: dict[str, str]
    alert_count: int
    alerts: list[AlertRecord]
    alerts_uri: str | None
    alerts_jsonl_uri: str | None
    evidence_uri: str | None
    dry_run: bool
    has_alert: bool = True
    warnings: list[str] = []
    delivery: SectionResult | None = None


# No task-level retries: the data source layer retries transient errors with backoff itself,
# and a permanent one (bad credentials, a malformed bundle) would only fail again.
@task(name="step")
def step_task(
    context: RunContext,
    step_id: str,
    step: StepModel,
    upstream: list[StepOutput],
    window: Window | None,
) -> StepOutput:
    """Any step: run its kind's plain function on the tables it reads, then log and link what
    the kind's report says. ``_submit_steps`` names each task after its kind."""
    action = action_of(step)
    tables = {name: ref for output in upstream for name, ref in output.tables.items()}
    reads = {name: tables[name] for name in step.reads}
    with failing_step(step_id):
        output = action.run(context, step_id, step, reads, window)
        report = action.report(step_id, step, output)
    logger = get_run_logger()
    for line in report.info:
        logger.info("%s", line)
    for line in [*output.warnings, *report.warnings]:
        logger.warning("%s", line)
    for link in report.links:
        create_link_artifact(
            key=_artifact_key(link.key),
            link=link.uri,
            link_text=link.text,
            description=link.description,
        )
    for markdown in report.markdown:
        create_markdown_artifact(
            key=_artifact_key(markdown.key),
            markdown=markdown.text,
            description=markdown.description,
        )
    if report.error is not None:
        with failing_step(step_id):
            raise report.error
    return output


@task(name="alert", task_run_name="alert on {book.alert.on}")
def alert_task(
    context: RunContext,
    book: HuntBook,
    upstream: StepOutput,
    raised_at: datetime,
    window: Window,
) -> finish.AlertOutput:
    assert book.alert is not None
    logger = get_run_logger()
    with hunt_ledger_limit(context.hunt_id), failing_step("alert"):
        output = finish.alert_step(
            context,
            book,
            upstream.tables[book.alert.on],
            raised_at,
            window,
            warn=logger.warning,
        )
    delivery = output.delivery
    status = alert_status(delivery, context.dry_run)
    for record in output.alerts:
        logger.warning("%s [%s] %s", status(record.alert_id), record.severity, record.title)
    if delivery is not None and delivery.pending:
        logger.warning(
            "%d alert(s) stay pending for the next run: %s",
            len(delivery.pending),
            ", ".join(delivery.pending),
        )
    create_table_artifact(
        key="alerts",
        table=[
            {
                "status": status(a.alert_id),
                "severity": a.severity,
                "title": a.title,
                "count": a.count,
                "key": a.alert_id,
                "evidence": a.evidence_uri,
            }
            for a in output.alerts[:ALERT_ARTIFACT_ROWS]
        ],
        description=f"{len(output.alerts)} alert(s) from {book.title}"
        + (" (dry run: not delivered)" if context.dry_run else ""),
    )
    return output


@flow(name="hunt", flow_run_name="{book}", log_prints=True)
def hunt(
    book: str,
    start: datetime | None = None,
    stop: datetime | None = None,
    dry_run: bool = False,
    storage: str | None = None,
    source: str | None = None,
    indicators: dict[str, list[str]] | None = None,
    intel_feed: str | None = None,
    intel_parquet: str | None = None,
    scheduled: bool = False,
) -> RunSummary | State[Any]:
    """Run one hunt book: fetch, analyse, alert.

    Args:
        book: Path of the hunt book (relative to the working directory of the run).
        start: Window start for every get step (ISO 8601); defaults from the book.
        stop: Window stop; give both or neither.
        dry_run: Compute and store alerts, but deliver none.
        storage: Object storage root (file://DIR or s3://BUCKET/PREFIX); defaults to
            HUNTLINE_STORAGE, then file://.huntline/store.
        source: Data source for every get step instead of the book's (a stix-shifter
            profile, a file:// or http(s):// bundle).
        indicators: Extra indicators by type for the book's {{ intel.TYPE }} patterns, e.g.
            {"file_name": ["mimi.exe"]}; makes the run a retro-hunt over intel.lookback.
        intel_feed: The feed the indicators came from (set by intel triggers).
        intel_parquet: A stored table of new indicators (set by intel triggers for large
            updates).
        scheduled: Cover the window ending at the run's scheduled time and catch up gaps in
            the coverage record (set by the deployment's schedule). A late run whose window
            is covered already ends at once in a Completed state named Skipped.
    """
    for leftover in clean_up():  # what a killed run left on this host (see huntline.debris)
        get_run_logger().warning("removed %s, left by a run that was killed", leftover)
    now = datetime.now(UTC)
    store = open_store(storage)
    request = RunRequest(
        start=start,
        stop=stop,
        source=source,
        indicators=indicators,
        intel_feed=intel_feed,
        intel_parquet=intel_parquet,
        scheduled_at=utc(flow_run.scheduled_start_time) if scheduled else None,
    )
    prepared_run = prepare_run(book, now, request, store)
    if prepared_run.skip is not None:  # a late run whose window a later run covered
        get_run_logger().info("skipped: %s", prepared_run.skip)
        create_markdown_artifact(key="window", markdown=f"**Skipped**: {prepared_run.skip}")
        return Completed(name=SKIPPED, message=prepared_run.skip)
    prepared = prepared_run.hunt
    hunt_book, plan, windows = prepared.book, prepared.plan, prepared.windows
    _report_window(prepared_run)
    context = RunContext(
        storage=store.root,
        hunt_id=str(hunt_book.id),
        run_date=now.strftime("%Y-%m-%d"),
        flow_run_id=str(flow_run.get_id() or "local"),
        dry_run=dry_run,
        flow_run_url=_flow_run_url(),
        indicators=prepared_run.indicators,
        intel_feed=prepared_run.feed,
        source=source,
    )
    outputs: list[StepOutput] = []
    alerts: finish.AlertOutput | None = None
    futures: dict[str, PrefectFuture[StepOutput]] = {}
    try:
        _submit_steps(plan, context, windows, futures)
        outputs = [future.result() for future in futures.values()]
        if plan.alert is not None and plan.alert_input is not None:
            alerts = alert_task(
                context, hunt_book, futures[plan.alert_input].result(), now, _span(windows)
            )
    except BaseException as error:
        done = [f.result() for f in futures.values() if f.state.is_completed()]
        gated = _gated_alerts(context, hunt_book, done, error, now, windows)
        try:
            finish.write_manifest(
                context,
                book=prepared.loaded,
                windows=windows,
                steps=done,
                alerts=gated,
                status="failed",
                error=finish.failure_summary(error),
            )
        except StorageError as storage_error:
            # The run's own error matters more; storage may be what failed in the first place.
            get_run_logger().warning("could not record the failed run: %s", storage_error)
        raise
    manifest_uri = finish.write_manifest(
        context,
        book=prepared.loaded,
        windows=windows,
        steps=outputs,
        alerts=alerts,
        status="completed",
    )
    create_link_artifact(key="manifest", link=manifest_uri, link_text="run manifest")
    covered = prepared_run.coverage_window(dry_run)
    if covered is not None:
        record_coverage(store, context.hunt_id, covered)
    summary = _summary(context, hunt_book, plan, outputs, alerts, manifest_uri)
    if prepared_run.window.uncovered is not None:
        summary.warnings.append(prepared_run.window.describe())
    return summary


def _gated_alerts(
    context: RunContext,
    book: HuntBook,
    done: list[StepOutput],
    error: BaseException,
    now: datetime,
    windows: dict[str, Window],
) -> finish.AlertOutput | None:
    """When a ``fail`` gate stopped the run: the alerts the hunt would have raised, evaluated
    on the gated variable, stored under ``gated/`` and marked gated (never delivered), and
    named in the run's error, so a scheduled run over odd data does not hide a real hit."""
    if not isinstance(error, QualityError) or book.alert is None:
        return None
    tables = {name: ref for output in done for name, ref in output.tables.items()}
    table = tables.get(book.alert.on)
    if table is None:
        return None
    logger = get_run_logger()
    try:
        output = finish.alert_step(context, book, table, now, _span(windows), gated=True)
    except HuntlineError as problem:
        logger.warning("the gated alerts could not be evaluated: %s", problem.message)
        return None
    for record in output.alerts:
        logger.warning("gated [%s] %s", record.severity, record.title)
    if output.alerts:
        where = output.alerts_jsonl_uri
        error.message += (
            f"; {len(output.alerts)} alert(s) the hunt would have raised are stored, marked "
            f"gated and not delivered, in {where}"
        )
    return output


def _report_window(prepared: PreparedRun) -> None:
    """Say which window the run covers and why, in its log and as an artifact; a gap that
    stays uncovered is a warning."""
    text = prepared.window.describe()
    if prepared.retro:
        counts = ", ".join(f"{len(v)} {k}" for k, v in prepared.indicators.items())
        text += f"; retro-hunt for {counts} from {prepared.feed}"
    logger = get_run_logger()
    (logger.warning if prepared.window.uncovered else logger.info)("window: %s", text)
    create_markdown_artifact(key="window", markdown=f"**Window**: {text}")


def _submit_steps(
    plan: Plan,
    context: RunContext,
    windows: dict[str, Window],
    futures: dict[str, PrefectFuture[StepOutput]],
) -> None:
    """Submit every step, each waiting only on the steps it reads from (the DAG)."""
    for planned in plan.steps:
        kind = planned.step_kind
        named = step_task.with_options(
            name=kind.keyword,
            task_run_name=f"{planned.id} {kind.keyword} {kind.headline(planned.step)}",
        )
        # Prefect resolves the futures to their StepOutputs before the task runs.
        upstream: Any = [futures[step_id] for step_id in planned.depends_on]
        futures[planned.id] = named.submit(
            context, planned.id, planned.step, upstream, windows.get(planned.id)
        )


def _summary(
    context: RunContext,
    book: HuntBook,
    plan: Plan,
    outputs: list[StepOutput],
    alerts: finish.AlertOutput | None,
    manifest_uri: str,
) -> RunSummary:
    by_step = {output.step_id: output for output in outputs}
    tables = {
        variable: by_step[step_id].tables[variable]
        for variable, step_id in plan.final_writers.items()
    }
    displays = {o.step_id: o.display_uri for o in outputs if o.display_uri}
    return RunSummary(
        flow_run_id=context.flow_run_id,
        hunt_id=context.hunt_id,
        title=book.title,
        storage=context.storage,
        manifest_uri=manifest_uri,
        tables=tables,
        displays=displays,
        alert_count=len(alerts.alerts) if alerts else 0,
        alerts=alerts.alerts if alerts else [],
        alerts_uri=alerts.alerts_table.uri if alerts and alerts.alerts_table else None,
        alerts_jsonl_uri=alerts.alerts_jsonl_uri if alerts else None,
        evidence_uri=alerts.evidence.uri if alerts and alerts.evidence else None,
        dry_run=context.dry_run,
        has_alert=plan.alert is not None,
        warnings=[warning for output in outputs for warning in output.warnings],
        delivery=alerts.delivery if alerts else None,
    )


def _artifact_key(*parts: str) -> str:
    # Artifact keys allow lower-case letters, digits and dashes only.
    return "-".join(parts).lower().replace("_", "-")


def _flow_run_url() -> str | None:
    """The UI page of this flow run, for the manifest (``huntline runs show`` prints it)."""
    ui, flow_run_id = PREFECT_UI_URL.value(), flow_run.get_id()
    return f"{ui}/runs/flow-run/{flow_run_id}" if ui and flow_run_id else None


def _span(windows: dict[str, Window]) -> Window:
    """The run's window: from the earliest start to the latest stop of its get steps."""
    return Window(min(w.start for w in windows.values()), max(w.stop for w in windows.values()))

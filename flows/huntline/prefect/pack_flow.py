"""The Prefect flow of a rule pack: one fetch per window, every member over it, one flow run.

Every pack deployment ``huntline deploy`` makes (:mod:`huntline.schedule.pack_specs`) runs this
flow with its pack file as a parameter. The window is decided as a book's is, from the pack's
own schedule and coverage record (:mod:`huntline.schedule.pack_window`); the run itself is
:func:`huntline.packs.run_pack`, in one task: a task per member would cost Prefect's per-task
overhead a thousand times over for a pack of a thousand rules, which is what packs avoid.

What the run shows: its window (a markdown artifact, as a hunt run), a table artifact with one
row per member (rows matched, alerts, time, error), a log line per member that alerted or
failed. A member that failed does not stop the others; the run then ends ``Failed`` with a
message naming the failed members, after every other member has raised its alerts. Such a run
leaves its window out of the pack's coverage record (:func:`~huntline.packs.run_pack`), so the
next scheduled run catches it up, by at most the schedule's ``max_catchup``; the other members'
alerts are not raised twice, their ledgers dedup them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from huntline.debris import clean_up
from huntline.packs import Pack, PackReport, load_pack, run_pack
from huntline.packs.run import MemberResult
from huntline.schedule.late_runs import SKIPPED
from huntline.schedule.pack_window import decide_pack_window
from huntline.storage import open_store
from huntline.window import Window, utc

#: How many failed members the run's final message names (all are in the artifact table).
NAMED_FAILURES = 5


@task(
    name="pack",
    task_run_name="fetch once, run the members of {pack.spec.pack}",
    cache_policy=NO_CACHE,
)
def pack_task(
    pack: Pack,
    storage: str | None,
    now: datetime,
    window: Window,
    dry_run: bool,
    run_id: str,
    source: str | None,
) -> PackReport:
    """The pack run (no cache key: hashing a thousand members' books would cost more than
    the key could save)."""
    return run_pack(
        pack, storage, now, start=window.start, stop=window.stop, dry_run=dry_run,
        run_id=run_id, source=source,
    )  # fmt: skip


@flow(name="pack", flow_run_name="{pack}", log_prints=True)
def pack(
    pack: str,
    start: datetime | None = None,
    stop: datetime | None = None,
    dry_run: bool = False,
    storage: str | None = None,
    source: str | None = None,
    scheduled: bool = False,
) -> dict[str, Any] | State[Any]:
    """Run a rule pack: fetch once, then every member book over that table, each raising its
    own alerts as if it had run alone.

    Args:
        pack: Path of the pack file (relative to the working directory of the run).
        start: Window start for the shared fetch (ISO 8601); defaults from the pack.
        stop: Window stop; give both or neither.
        dry_run: Compute and store alerts, but deliver none.
        storage: Object storage root (file://DIR or s3://BUCKET/PREFIX); defaults to
            HUNTLINE_STORAGE, then file://.huntline/store.
        source: Data source for the shared fetch instead of the pack's (a stix-shifter
            profile, a file:// or http(s):// bundle).
        scheduled: Cover the window ending at the run's scheduled time and catch up gaps in
            the pack's coverage record (set by the deployment's schedule). A late run whose
            window is covered already ends at once in a Completed state named Skipped.
    """
    logger = get_run_logger()
    for leftover in clean_up():  # what a killed run left on this host (see huntline.debris)
        logger.warning("removed %s, left by a run that was killed", leftover)
    now = datetime.now(UTC)
    loaded = load_pack(pack)
    store = open_store(storage)
    scheduled_at = utc(flow_run.scheduled_start_time) if scheduled else None
    decided = decide_pack_window(
        loaded, store, now=now, start=start, stop=stop, scheduled_at=scheduled_at
    )
    if decided.skip is not None:
        logger.info("skipped: %s", decided.skip)
        create_markdown_artifact(key="window", markdown=f"**Skipped**: {decided.skip}")
        return Completed(name=SKIPPED, message=decided.skip)
    text = decided.decided.describe()
    (logger.warning if decided.decided.uncovered else logger.info)("window: %s", text)
    create_markdown_artifact(key="window", markdown=f"**Window**: {text}")
    run_id = str(flow_run.get_id() or "local")
    report = pack_task(loaded, storage, now, decided.window, dry_run, run_id, source)
    _publish(report)
    failed = [member for member in report.members if member.error]
    if failed:
        names = ", ".join(member.title for member in failed[:NAMED_FAILURES])
        more = f" and {len(failed) - NAMED_FAILURES} more" if len(failed) > NAMED_FAILURES else ""
        return Failed(
            message=f"{len(failed)} of {len(report.members)} member(s) failed: {names}{more} "
            "(the others ran; see the members table)",
            data=report.record(),
        )
    return report.record()


def _publish(report: PackReport) -> None:
    """The fetch and every member in the log, and the members as a table artifact."""
    logger = get_run_logger()
    logger.info(
        "one fetch of %d rows in %.1f s (%s) for %d member(s)",
        report.fetched.rows, report.fetch_seconds, report.fetched.uri, len(report.members),
    )  # fmt: skip
    for member in report.members:
        if member.error:
            logger.error("member %s (%s) failed: %s", member.title, member.hunt_id, member.error)
        elif member.alerts:
            logger.warning("member %s: %d alert(s)", member.title, len(member.alerts))
    alerts = sum(len(member.alerts) for member in report.members)
    failed = sum(member.error is not None for member in report.members)
    create_table_artifact(
        key="members",
        table=[_row(member) for member in sorted(report.members, key=_shown_first)],
        description=f"{len(report.members)} member(s) of {report.pack}: {alerts} alert(s), "
        f"{failed} failed; one fetch of {report.fetched.rows} rows",
    )


def _shown_first(member: MemberResult) -> tuple[bool, bool]:
    """Failed members first, then those that alerted, then the rest (each in pack order)."""
    return (member.error is None, not member.alerts)


def _row(member: MemberResult) -> dict[str, Any]:
    return {
        "member": member.title,
        "hunt_id": member.hunt_id,
        "rows matched": member.rows,
        "alerts": len(member.alerts),
        "seconds": round(member.seconds, 3),
        "error": member.error or "",
    }

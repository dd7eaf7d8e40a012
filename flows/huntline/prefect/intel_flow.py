"""The Prefect layer of the intel watcher: the ``intel-watch`` flow and one task per feed.

``flows/intel_watch.py`` re-exports the flow as the deployment entrypoint; ``huntline intel
pull`` calls it once. Every feed is pulled in its own task, so a feed that fails shows as one
failed task while the others complete and announce what they found; the flow run then fails,
naming the failed feeds, so the outage is visible in the UI rather than a quiet success.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.events import emit_event
from prefect.futures import PrefectFuture

from huntline.errors import IntelError
from huntline.intel.model import DEFAULT_FEEDS_FILE, FeedConfig, load_feeds, select_feeds
from huntline.intel.watch import FeedPull, pull_feed
from huntline.storage import open_store


@task(name="pull-feed", task_run_name="pull {name}")
def pull_task(name: str, config: FeedConfig, storage: str, now: datetime) -> FeedPull:
    pull = pull_feed(name, config, open_store(storage), now)
    logger = get_run_logger()
    if pull.event is None:
        logger.info("%s: %d indicators, nothing new", name, pull.total)
        return pull
    emit_event(**pull.event.model_dump())
    logger.info(
        "%s: %d new of %d indicators (%s); event emitted", name, pull.new, pull.total, pull.new_uri
    )
    return pull


@flow(name="intel-watch", log_prints=True)
def intel_watch(
    feeds_file: str = DEFAULT_FEEDS_FILE,
    feeds: list[str] | None = None,
    storage: str | None = None,
) -> list[FeedPull]:
    """Pull intel feeds, store what is new as parquet, and emit huntline.intel.updated.

    Args:
        feeds_file: The feed definitions, relative to the working directory of the run.
        feeds: Pull only these feeds; all of them when empty.
        storage: Object storage root (file://DIR or s3://BUCKET/PREFIX); defaults to
            HUNTLINE_STORAGE, then file://.huntline/store.
    """
    selected = select_feeds(load_feeds(feeds_file), feeds)
    root = open_store(storage).root
    now = datetime.now(UTC)
    futures: dict[str, PrefectFuture[FeedPull]] = {
        name: pull_task.submit(name, config, root, now) for name, config in selected.items()
    }
    pulls: list[FeedPull] = []
    for name, future in futures.items():
        future.wait()
        if future.state.is_completed():
            pulls.append(future.result())
        else:
            error = future.state.result(raise_on_failure=False)
            pulls.append(FeedPull(feed=name, status="failed", error=str(error)))
    create_table_artifact(
        key="intel-pull",
        table=[pull.model_dump(exclude={"event"}) for pull in pulls],
        description=f"intel pull of {len(pulls)} feed(s) from {feeds_file}",
    )
    failed = [p for p in pulls if p.status == "failed"]
    if failed:
        raise IntelError(
            f"{len(failed)} of {len(pulls)} intel feed(s) failed; the others were pulled: "
            + "; ".join(f"{p.feed}: {p.error}" for p in failed),
            hint="a failed feed keeps its last good snapshot; fix it and pull again",
        )
    return pulls

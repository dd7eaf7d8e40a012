"""The Prefect client calls the commands make: one place, so the CLI imports no Prefect.

A sync client (:func:`sync_client`), a Secret block's existence on a given server
(:func:`secret_block_exists`), which worker polls a pool (:func:`worker_online`), and a flow
run's result from its final state
(:func:`flow_result`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from huntline.errors import HuntlineError

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import State


def sync_client() -> AbstractContextManager[SyncPrefectClient]:
    """A synchronous client of the server in ``PREFECT_API_URL``."""
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def secret_block_exists(api_url: str, name: str) -> bool:
    """Whether the server at ``api_url`` holds the Secret block ``name`` (its value unread)."""
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}), sync_client() as client:
        try:
            client.read_block_document_by_name(name, "secret", include_secrets=False)
        except ObjectNotFound:
            return False
    return True


def flow_result(state: State[Any], url: str, what: str) -> Any:
    """The result of a flow run called with ``return_state=True``; a failure is raised, with
    the flow run's URL in a huntline error's context (``flow_run_url``, which
    :func:`huntline.cli.console.print_error` prints)."""
    if state.is_completed():
        return state.result()
    failure = state.result(raise_on_failure=False)
    if isinstance(failure, HuntlineError):
        failure.context["flow_run_url"] = url
        raise failure
    raise RuntimeError(f"{what} failed ({state.name}): {failure}\n  flow run: {url}")


def worker_online(client: SyncPrefectClient, pool: str) -> str | None:
    """Which worker polls ``pool`` now (Prefect marks a worker ONLINE while it heartbeats),
    or None: so deploy suggests starting one only when none runs."""
    from prefect.exceptions import ObjectNotFound

    try:
        workers = client.read_workers_for_work_pool(pool)
    except ObjectNotFound:
        return None
    online = [worker.name for worker in workers if str(worker.status).endswith("ONLINE")]
    return ", ".join(online) or None

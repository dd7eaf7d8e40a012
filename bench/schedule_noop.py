"""The flow every deployment of ``bench/schedule_load.py`` runs.

It does nothing, so what a run costs is the worker's and the engine's alone (a flow-run process
importing Prefect and reporting its states), not a hunt's.
"""

from prefect import flow


@flow(name="schedule-noop")
def noop() -> None:
    """Nothing: the benchmark measures when runs start, not what they do."""

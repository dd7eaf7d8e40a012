"""What every step of a run receives (:class:`RunContext`) and leaves behind (:class:`StepOutput`).

These sit below the step kinds and the Prefect layer alike, so a step kind's run function, the
flow and :mod:`huntline.steps.finish` share them without importing one another. Both are small,
frozen and picklable: Prefect passes them between tasks, and only references to tables travel.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from huntline.quality.result import GateResult
from huntline.storage import TableRef


class RunContext(BaseModel):
    """Where one run keeps its objects, and how it was asked to run."""

    model_config = ConfigDict(frozen=True)

    storage: str
    hunt_id: str
    run_date: str
    flow_run_id: str
    dry_run: bool = False
    flow_run_url: str | None = None
    # A retro-hunt's indicators by type, for the book's {{ intel.TYPE }} patterns, and their feed.
    indicators: dict[str, list[str]] = {}
    intel_feed: str = ""
    source: str | None = None  # the run's data source instead of every get step's own

    @property
    def prefix(self) -> str:
        return f"{self.hunt_id}/{self.run_date}/{self.flow_run_id}"

    def key(self, step_id: str, name: str) -> str:
        return f"{self.prefix}/{step_id}/{name}"


class StepOutput(BaseModel):
    """What a step leaves behind: one table per variable it writes, and what it ran on."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    tables: dict[str, TableRef]
    display_uri: str | None = None
    image: str | None = None
    image_id: str | None = None
    query: str | None = None
    source: str | None = None
    warnings: list[str] = []
    #: What a fetch kept but changed or skipped, by kind (``huntline.fetch.tally``).
    coerced: dict[str, int] = {}
    gate: GateResult | None = None  # a quality gate's result

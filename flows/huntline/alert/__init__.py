"""The alert stage: rules over rows, alert records, dedup and suppression in a durable ledger,
and delivery to destinations.

``rules`` (which rows, which groups) → ``alerts`` (the records) → ``dedup`` + ``ledger`` +
``ledger_store`` (what is new or due) → ``delivery`` through ``sinks`` (apprise, jsonl) →
back into the ledger. ``section`` runs that sequence for one run.
"""

from typing import TYPE_CHECKING, Any

from huntline.lazy import lazy_attribute

if TYPE_CHECKING:
    from huntline.alert.alerts import AlertRecord, alerts_frame, alerts_jsonl, build_alerts
    from huntline.alert.rules import alert_groups, matching_rows
    from huntline.alert.templates import render_title

# Imported on first use (huntline.lazy): importing one submodule must not import the stage.
_EXPORTS = {
    "AlertRecord": "huntline.alert.alerts",
    "alerts_frame": "huntline.alert.alerts",
    "alerts_jsonl": "huntline.alert.alerts",
    "build_alerts": "huntline.alert.alerts",
    "alert_groups": "huntline.alert.rules",
    "matching_rows": "huntline.alert.rules",
    "render_title": "huntline.alert.templates",
}


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _EXPORTS, name)


__all__ = [
    "AlertRecord",
    "alert_groups",
    "alerts_frame",
    "alerts_jsonl",
    "build_alerts",
    "matching_rows",
    "render_title",
]

"""The alert stage: rules over rows, alert records, dedup and suppression in a durable ledger,
and delivery to destinations.

``rules`` (which rows, which groups) → ``alerts`` (the records) → ``dedup`` + ``ledger`` +
``ledger_store`` (what is new or due) → ``delivery`` through ``sinks`` (apprise, jsonl) →
back into the ledger. ``section`` runs that sequence for one run.
"""

from huntline.alert.alerts import AlertRecord, alerts_frame, alerts_jsonl, build_alerts
from huntline.alert.rules import alert_groups, matching_rows
from huntline.alert.templates import render_title

__all__ = [
    "AlertRecord",
    "alert_groups",
    "alerts_frame",
    "alerts_jsonl",
    "build_alerts",
    "matching_rows",
    "render_title",
]

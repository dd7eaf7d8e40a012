"""The alert stage: conditions over rows, alert records, and their stored forms."""

from huntline.alert.alerts import (
    AlertRecord,
    alerts_frame,
    alerts_jsonl,
    build_alerts,
    matching_rows,
    render_title,
)

__all__ = [
    "AlertRecord",
    "alerts_frame",
    "alerts_jsonl",
    "build_alerts",
    "matching_rows",
    "render_title",
]

"""Prefect entrypoint for polling intel feeds and emitting intel events.

A worker loads this file by path, so it only re-exports the flow.
"""

from huntline.prefect.intel_flow import intel_watch

__all__ = ["intel_watch"]

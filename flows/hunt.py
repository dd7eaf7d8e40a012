"""Prefect entrypoint for running one hunt book (every deployment ``huntline deploy`` makes
points here).

A worker loads this file by path, so it only re-exports the generic flow.
"""

from huntline.prefect.hunt_flow import hunt

__all__ = ["hunt"]

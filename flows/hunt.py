"""Prefect entrypoint for running one hunt book (``prefect.yaml`` points here).

A worker loads this file by path, so it only re-exports the generic flow.
"""

from huntline.flow import hunt

__all__ = ["hunt"]

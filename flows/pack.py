"""Prefect entrypoint for running one rule pack (the deployment ``huntline deploy`` makes for a
pack points here).

A worker loads this file by path, so it only re-exports the pack flow.
"""

from huntline.prefect.pack_flow import pack

__all__ = ["pack"]

"""stix-shifter's ``stix_bundle`` connector (HTTP bundles) matching with huntline's local
evaluator instead of stix2-matcher.

Why: the connector downloads the bundle and hands every observation to stix2-matcher, which
reads them one by one (about 8,000 observations/s here) and does it again for every results
page. :func:`install` replaces the connector's one ``match`` method, the way
:mod:`.linear_match` patches stix2-matcher's MATCHES and the connector itself patches its
START/STOP handling: a STIX 2.0 pattern whose bindings are single observations (the
connector's query always is one, with the window as START/STOP) is evaluated by
:mod:`huntline.patterns` (same semantics, differentially tested); anything else, STIX 2.1
bundles included, still goes to the connector's own stix2-matcher code.

The connector returns the matched observations in bundle order here; stix2-matcher returned
them binding by binding. Entities are merged by id afterwards, so the tables are the same.
"""

from __future__ import annotations

from typing import Any

from huntline.fetch.sources.pattern import binds_one_observation
from huntline.patterns import compile_pattern

_INSTALLED = "_huntline_local_match"


def install() -> None:
    """Make the ``stix_bundle`` connector match with :mod:`huntline.patterns` (idempotent;
    nothing when the connector is not installed)."""
    try:
        from stix_shifter_modules.stix_bundle.stix_transmission import connector
    except ImportError:
        return
    if getattr(connector.Connector, _INSTALLED, False):
        return
    reference = connector.Connector.match

    def match(
        self: Any,
        pattern: str,
        observed: list[dict[str, Any]],
        verbose: bool = False,
        stix_version: str = "2.0",
    ) -> list[dict[str, Any]]:
        if stix_version != "2.0" or not binds_one_observation(pattern):
            return reference(self, pattern, observed, verbose, stix_version)  # type: ignore[no-any-return]
        keep = compile_pattern(pattern).match_observations(observed)
        return [obs for obs, kept in zip(observed, keep.tolist(), strict=True) if kept]

    connector.Connector.match = match
    setattr(connector.Connector, _INSTALLED, True)

"""firepit 2.3.35 as the oracle for flattening, on the public sample bundles.

What must agree: every (non-id) column firepit fills exists in huntline's table, and the set of
distinct rows over those columns is the same. What differs by design (see huntline.fetch.flatten):
firepit merges rows that share its uuid5 identity, so it has fewer rows and other ids; it leaves
out first_observed/last_observed/number_observed; it has no ``<ref>.type`` columns; and it does
not follow references out of custom ``x-`` objects.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from huntline.fetch import entity_types, flatten
from huntline.fetch.bundle import read_observed_data

firepit = pytest.importorskip("firepit")

BUNDLES = [
    "log4shell_bundle.json",
    "powershell_search_stix_result.json",
    "test_bundle.json",
    "test_bundle_2.json",
    "test_bundle_nt_1.json",
]


def _value(value: Any) -> Any:
    """firepit gives NaN for missing and float for integers in sparse columns; normalise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _ids(columns: Any) -> set[str]:
    return {c for c in columns if c == "id" or c.endswith(".id")}


@pytest.mark.parametrize("bundle", BUNDLES)
def test_tables_agree_with_firepit(bundle: str, shared_data: Path, tmp_path: Path) -> None:
    path = shared_data / "stix" / bundle
    store = firepit.get_storage(str(tmp_path / "firepit.db"), "oracle")
    store.cache("q", [str(path)])
    observed = read_observed_data(path)
    for entity in entity_types(observed):
        view = "v_" + entity.replace("-", "_")
        store.extract(view, entity, "q", None)
        theirs = pd.DataFrame(store.lookup(view))
        ours = flatten(observed, entity)

        count = sum(sco["type"] == entity for obs in observed for sco in obs["objects"].values())
        assert len(ours) == count, entity
        assert ours["id"].is_unique
        assert len(theirs) <= len(ours), entity  # firepit merges what it considers the same

        filled = {c for c in theirs.columns if theirs[c].notna().any()} - _ids(theirs.columns)
        missing = filled - set(ours.columns)
        assert not missing, f"{bundle} {entity}: huntline lacks {sorted(missing)}"
        columns = sorted(filled)
        rows = [
            {tuple(_value(v) for v in row) for row in table[columns].itertuples(index=False)}
            for table in (ours, theirs)
        ]
        assert rows[0] == rows[1], f"{bundle} {entity}"

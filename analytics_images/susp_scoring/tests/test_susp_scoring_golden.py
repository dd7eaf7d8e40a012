"""The vectorised scoring reproduces the reference scores stored in data/golden.json.

golden.json was made by make_golden.py from the published logic. ``score`` includes the comma
fix (``-m http.server`` and ``import pty; pty.spawn*`` as two patterns); ``score_reference``
is the unmodified result. Only rows hit by those two patterns may differ between them.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

TABLES = {
    "procs": "procs.parquet.gz",
    "rules": "rules.parquet",
    "net_count": "net_count.parquet",
    "net_refs": "net_refs.parquet",
}


@pytest.fixture(scope="module")
def expected(golden: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(golden)


@pytest.mark.parametrize("table", list(TABLES))
def test_scores_match_reference(
    scoring: ModuleType, data_dir: Path, expected: pd.DataFrame, table: str
) -> None:
    frame = pd.read_parquet(data_dir / TABLES[table])
    out = scoring.analytics(frame).set_index("id")
    want = expected[expected["table"] == table].set_index("id")
    assert list(out.index) == list(want.index)
    assert out["x_suspicious_score"].dtype == "int64"
    assert out["x_suspicious_score"].tolist() == want["score"].astype("int64").tolist()
    assert out["techniques"].fillna("").tolist() == want["techniques"].tolist()
    if table.startswith("net_"):
        assert out["network_susp_score"].tolist() == want["network_susp_score"].tolist()


def test_comma_fix_is_the_only_difference(scoring: ModuleType, expected: pd.DataFrame) -> None:
    differs = expected[expected["score"] != expected["score_reference"]]
    assert set(differs["id"]) == {"process--rules-008", "process--rules-010"}
    assert (differs["score"] - differs["score_reference"]).tolist() == [1.0, 1.0]


def test_input_is_not_modified(scoring: ModuleType, data_dir: Path) -> None:
    frame = pd.read_parquet(data_dir / "procs.parquet.gz")
    before = frame.copy()
    scoring.analytics(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_missing_columns_score_zero(scoring: ModuleType) -> None:
    frame = pd.DataFrame({"id": ["process--1"], "type": ["process"]})
    out = scoring.analytics(frame)
    assert out["x_suspicious_score"].tolist() == [0]
    assert out["techniques"].isna().all()


def test_reference_unit_case_node(scoring: ModuleType) -> None:
    """node forking node is not suspicious; node forking anything else is (score 3)."""
    frame = pd.DataFrame(
        {"binary_ref.name": ["node", "foo"], "parent_ref.binary_ref.name": ["node", "node"]}
    )
    assert scoring.analytics(frame)["x_suspicious_score"].tolist() == [0, 3]


def test_existing_techniques_are_kept(scoring: ModuleType) -> None:
    frame = pd.DataFrame(
        {"command_line": ["whoami", "ls"], "techniques": ["https://x/T9/", None]},
        index=[7, 7],
    )
    out = scoring.analytics(frame)
    assert out["techniques"].fillna("").tolist() == [
        "https://attack.mitre.org/techniques/T1087/ https://x/T9/",
        "",
    ]


def test_rules_file_is_valid_json(scoring: ModuleType) -> None:
    rules = scoring.load_rules()
    assert (
        len(rules["command_line_patterns"]["patterns"]) == 33
    )  # the reference has 32: two were joined by a missing comma
    assert len(rules["rules"]) == 10
    assert json.dumps(rules)

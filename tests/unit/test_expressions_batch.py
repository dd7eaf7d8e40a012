"""BatchEvaluator gives exactly what evaluate() gives, condition by condition."""

from __future__ import annotations

import pandas as pd
import pytest

from huntline.expressions import ConditionError, evaluate, parse_condition
from huntline.expressions_batch import BatchEvaluator

CONDITIONS = [
    "icontains(field('command_line'), 'whoami') or icontains(field('command_line'), 'ENC')",
    "iendswith(path(field('dir'), field('name')), '\\\\cmd.exe') and not "
    "icontains(field('command_line'), 'whoami')",
    "lower(field('name')) in ['cmd.exe', 'curl']",
    "missing(field('x_original_file_name')) and exists(field('pid'))",
    "num(field('pid')) > 5",
    "field('pid') == field('ppid')",
    "matches(field('command_line'), '(?i)^cmd ')",
    "x_score >= 2 and name != 'curl'",
    "cidr(field('ip'), '10.0.0.0/8') or field('ip') == None",
]


@pytest.fixture
def table() -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "dir": ["C:\\Windows\\System32", "/usr/bin", "C:\\Windows\\System32", None],
            "name": ["CMD.exe", "curl", "cmd.exe", "x.exe"],
            "command_line": ["cmd /c whoami", "curl -enc", "CMD /c dir", None],
            "pid": ["4", "100", None, "7"],
            "ppid": ["4", "1", None, "8"],
            "ip": ["10.1.2.3", "192.168.0.1", None, "10.0.0.1"],
            "x_score": [1, 2, 3, 4],
        }
    )
    return pd.concat([rows] * 3, ignore_index=True)  # repeated values, as real columns have


def test_the_same_masks_as_evaluate(table: pd.DataFrame) -> None:
    conditions = [parse_condition(text) for text in CONDITIONS]
    batch = BatchEvaluator(table).evaluate_all(conditions)
    for condition, mask in zip(conditions, batch, strict=True):
        assert mask.tolist() == evaluate(condition, table).tolist(), condition.text
    assert any(mask.any() for mask in batch) and not all(mask.all() for mask in batch)


def test_a_strict_column_the_table_lacks_is_still_an_error(table: pd.DataFrame) -> None:
    with pytest.raises(ConditionError, match=r"reads column\(s\) x_nope"):
        BatchEvaluator(table).evaluate(parse_condition("x_nope == 1"))

"""Cases generated from SigmaHQ rules: the positive row meets the rule, locally and through
its pushed-down STIX pattern (stix2-matcher); the negative row does not.

A sample of every 25th process_creation rule; all of them: ``bench/sigma_rule_cases.py``.
"""

from __future__ import annotations

from pathlib import Path

from stix2matcher.matcher import match

from huntline.sigma.cases import negative_row, observation, positive_row
from huntline.sigma.convert import convert_paths


def observed(objects: list[dict[str, object]]) -> dict[str, object]:
    return {
        "type": "observed-data",
        "id": "observed-data--00000000-0000-4000-8000-000000000000",
        "first_observed": "2020-01-01T00:00:00Z",
        "last_observed": "2020-01-01T00:00:00Z",
        "number_observed": 1,
        "objects": {str(index): item for index, item in enumerate(objects)},
    }


def test_generated_rows_on_a_sample_of_sigmahq(shared_data: Path) -> None:
    folder = shared_data / "sigma" / "rules" / "windows" / "process_creation"
    files = sorted(folder.glob("*.yml"))[::25]
    built = 0
    for result in convert_paths(files):
        assert result.conversion is not None, result.error
        condition = result.conversion.condition
        positive = positive_row(condition)
        if positive is None:
            continue
        built += 1
        negative = negative_row(condition, positive)
        assert negative is not None, result.path.name
        pattern = result.conversion.pattern
        if pattern is not None:
            assert match(pattern, [observed(observation("process", positive))]), result.path.name
    assert built >= 0.9 * len(files)


def test_observation_nests_references() -> None:
    row = {
        "binary_ref.parent_directory_ref.path": "C:\\Windows",
        "binary_ref.name": "a.exe",
        "binary_ref.hashes.'SHA-256'": "ab",
        "parent_ref.command_line": "x",
        "command_line": "y",
    }
    assert observation("process", row) == [
        {"type": "process", "binary_ref": "1", "parent_ref": "3", "command_line": "y"},
        {"type": "file", "parent_directory_ref": "2", "name": "a.exe", "hashes": {"SHA-256": "ab"}},
        {"type": "directory", "path": "C:\\Windows"},
        {"type": "process", "command_line": "x"},
    ]

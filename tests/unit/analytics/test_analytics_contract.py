"""The Kestrel contract's naming, paths and parameter conversion."""

from __future__ import annotations

import doctest
import pickle

import pytest

from huntline.analytics import contract
from huntline.errors import AnalyticsError


@pytest.mark.parametrize(
    ("reference", "image"),
    [
        ("docker://susp_scoring", "kestrel-analytics-susp_scoring"),
        ("susp_scoring", "kestrel-analytics-susp_scoring"),
        ("kestrel-analytics-susp_scoring", "kestrel-analytics-susp_scoring"),
        ("docker://ghcr.io/acme/scoring:1.0", "ghcr.io/acme/scoring:1.0"),
        ("acme/scoring", "acme/scoring"),
        ("scoring:2", "scoring:2"),
        ("localhost:5000/scoring", "localhost:5000/scoring"),
    ],
)
def test_image_for(reference: str, image: str) -> None:
    assert contract.image_for(reference) == image


def test_empty_reference_is_an_error() -> None:
    with pytest.raises(AnalyticsError, match="empty analytics reference 'docker://'"):
        contract.image_for("docker://")


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("kestrel-analytics-foo", "foo"),
        ("kestrel-analytics-foo:latest", "foo"),
        ("kestrel-analytics-foo:1.0", None),
        ("ghcr.io/x/kestrel-analytics-foo", None),
        ("other", None),
    ],
)
def test_analytics_name(image: str, name: str | None) -> None:
    assert contract.analytics_name(image) == name


def test_paths() -> None:
    assert str(contract.input_path(0)) == "/data/input/0.parquet.gz"
    assert str(contract.output_path(3)) == "/data/output/3.parquet.gz"
    assert contract.REQUIRED_COLUMNS == ("id", "type")


@pytest.mark.parametrize(
    ("filename", "index"),
    [
        ("0.parquet.gz", 0),
        ("12.parquet.gz", 12),
        ("01.parquet.gz", None),
        ("x.parquet.gz", None),
        ("0.parquet", None),
        ("ret.html", None),
    ],
)
def test_output_index(filename: str, index: int | None) -> None:
    assert contract.output_index(filename) == index


def test_env_for_converts_values_to_strings() -> None:
    env = contract.env_for(
        {
            "n": 2,
            "ratio": 0.5,
            "columns": ["src_byte_count", "dst_byte_count"],
            "ports": (80, 443),
            "fast": True,
            "slow": False,
            "label": "abc",
            "empty": None,
        }
    )
    assert env == {
        "n": "2",
        "ratio": "0.5",
        "columns": "src_byte_count,dst_byte_count",
        "ports": "80,443",
        "fast": "true",
        "slow": "false",
        "label": "abc",
        "empty": "",
    }


def test_env_names_are_kept_exactly() -> None:
    assert list(contract.env_for({"Columns": 1, "x_y": 2})) == ["Columns", "x_y"]


@pytest.mark.parametrize("name", ["", "a=b", "a\0b"])
def test_bad_parameter_names(name: str) -> None:
    with pytest.raises(AnalyticsError, match="invalid analytics parameter name") as info:
        contract.env_for({name: 1})
    assert pickle.loads(pickle.dumps(info.value)).context == {"parameter": name}


def test_docstring_examples_run() -> None:
    assert doctest.testmod(contract).failed == 0

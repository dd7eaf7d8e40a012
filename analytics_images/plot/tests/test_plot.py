"""plot: each plot type renders an HTML page with one inline SVG; the variable is unchanged."""

from __future__ import annotations

from types import ModuleType

import pandas as pd
import pytest
from image_testing import dockerfile_labels, load, network_traffic, shared_parquet


@pytest.fixture(scope="module")
def plot() -> ModuleType:
    return load("plot")


@pytest.mark.parametrize(
    ("params", "kind"),
    [
        ({"XPARAM": "dst_ref.value"}, "bar"),
        ({"XPARAM": "dst_port", "PLOTTYPE": "histogram", "bins": "5"}, "histogram"),
        ({"XPARAM": "first_observed"}, "timeline"),
        ({"XPARAM": "first_observed", "YPARAM": "src_byte_count", "interval": "1h"}, "timeline"),
        ({"XPARAM": "src_byte_count", "YPARAM": "dst_byte_count"}, "scatter"),
        ({"XPARAM": "dst_ref.value", "YPARAM": "dst_byte_count", "PLOTTYPE": "bar"}, "bar"),
    ],
)
def test_plot_types(
    plot: ModuleType, monkeypatch: pytest.MonkeyPatch, params: dict[str, str], kind: str
) -> None:
    frame = network_traffic(120)
    for key, value in params.items():
        monkeypatch.setenv(key, value)
    same, page = plot.analytics(frame)
    assert same is frame
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1
    assert "<?xml" not in page
    assert f"<title>{kind} of {params['XPARAM']}" in page


def test_auto_choice(plot: ModuleType) -> None:
    frame = pd.read_parquet(shared_parquet("nettraffic.parquet.gz"))
    assert plot.choose(frame["first_observed"], None) == "timeline"
    assert plot.choose(frame["dst_port"], frame["src_port"]) == "scatter"
    assert plot.choose(frame["dst_port"], None) == "histogram"
    assert plot.choose(frame["protocols"], None) == "bar"


def test_missing_column_and_bad_type(plot: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XPARAM", "src_byte_count")
    frame = pd.read_parquet(shared_parquet("nettraffic.parquet.gz"))
    with pytest.raises(KeyError, match="XPARAM='src_byte_count' is not a column of the input"):
        plot.analytics(frame)
    monkeypatch.setenv("XPARAM", "dst_port")
    monkeypatch.setenv("PLOTTYPE", "pie")
    with pytest.raises(ValueError, match="PLOTTYPE='pie' unknown"):
        plot.analytics(frame)


def test_label_lists_every_parameter(plot: ModuleType) -> None:
    declared = set(dockerfile_labels("plot")["huntline.parameters"].split(","))
    assert declared == set(plot.PARAMETERS)

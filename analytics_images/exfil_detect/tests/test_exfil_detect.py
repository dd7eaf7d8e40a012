"""exfil_detect: a large upload stands out against its host's and its hour's baseline."""

from __future__ import annotations

from types import ModuleType

import pandas as pd
import pytest
from image_testing import dockerfile_labels, load, network_traffic, shared_parquet


@pytest.fixture(scope="module")
def exfil() -> ModuleType:
    return load("exfil_detect")


def _with_upload(rows: int = 400) -> pd.DataFrame:
    frame = network_traffic(rows, seed=3)
    frame.loc[17, ["src_ref.value", "dst_ref.value", "src_byte_count"]] = [
        "10.0.0.5", "203.0.113.50", 750_000_000]  # fmt: skip
    return frame


def test_upload_is_flagged_with_reason(exfil: ModuleType) -> None:
    out = exfil.analytics(_with_upload())
    top = out[exfil.PROBABILITY].idxmax()
    assert top == 17
    assert out.loc[17, exfil.PROBABILITY] > 0.99
    assert out.loc[17, exfil.OP] == "Internal->External"
    reason = out.loc[17, exfil.REASON]
    assert reason.startswith("750,000,000 bytes out, host median ")
    assert ", hour " in reason
    others = out.drop(index=17)
    assert (others[exfil.PROBABILITY] < 0.5).all()
    assert out.loc[out[exfil.OP] == "Internal->Internal", exfil.REASON].eq(
        "not outbound from an internal address").all()  # fmt: skip
    assert out[exfil.PROBABILITY].between(0, 1).all()


def test_parameters(exfil: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("internal_networks", "10.0.0.0/8")
    monkeypatch.setenv("sensitive_networks", "10.0.0.5/32")
    monkeypatch.setenv("min_bytes", "0")
    out = exfil.analytics(_with_upload())
    assert out.loc[17, exfil.OP] == "Sensitive->External"
    # 192.168.1.7 is not internal under internal_networks=10.0.0.0/8
    assert out.loc[out["src_ref.value"] == "192.168.1.7", exfil.OP].str.startswith(
        "External->").all()  # fmt: skip


def test_missing_byte_counts_name_the_columns(exfil: ModuleType) -> None:
    frame = pd.read_parquet(shared_parquet("nettraffic.parquet.gz"))
    with pytest.raises(KeyError, match="the input lacks src_byte_count"):
        exfil.analytics(frame)


def test_label_lists_every_parameter(exfil: ModuleType) -> None:
    declared = set(dockerfile_labels("exfil_detect")["huntline.parameters"].split(","))
    assert declared == set(exfil.PARAMETERS)

"""domain_lookup against a real DNS server (dnslib) on 127.0.0.1 with known PTR records."""

from __future__ import annotations

from types import ModuleType

import pandas as pd
import pytest
from image_testing import dns_server, dockerfile_labels, load

PTR = {"10.0.0.5": "ws-05.corp.example.", "93.184.216.34": "www.example.com."}


@pytest.fixture(scope="module")
def lookup() -> ModuleType:
    return load("domain_lookup")


def _traffic() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["network-traffic--1", "network-traffic--2", "network-traffic--3"],
            "type": "network-traffic",
            "src_ref.value": ["10.0.0.5", "10.0.0.5", "10.0.0.7"],
            "dst_ref.value": ["93.184.216.34", "198.51.100.1", "93.184.216.34"],
        }
    )


def test_ptr_names_are_added(lookup: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    with dns_server(PTR) as nameserver:
        monkeypatch.setenv("nameserver", nameserver)
        monkeypatch.setenv("concurrency", "2")
        out, page = lookup.analytics(_traffic())
    assert out["x_domain_name"].fillna("-").tolist() == ["www.example.com", "-", "www.example.com"]
    assert out["x_src_ref.value_domain_name"].fillna("-").tolist() == [
        "ws-05.corp.example",
        "ws-05.corp.example",
        "-",
    ]
    assert "4 distinct addresses: 2 no PTR, 2 resolved" in page


def test_ipv4_addr_entities(lookup: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"id": ["ipv4-addr--1", "ipv4-addr--2"], "type": "ipv4-addr",
                          "value": ["93.184.216.34", "not-an-ip"]})  # fmt: skip
    with dns_server(PTR) as nameserver:
        monkeypatch.setenv("nameserver", nameserver)
        out, _ = lookup.analytics(frame)
    assert out["x_domain_name"].fillna("-").tolist() == ["www.example.com", "-"]


def test_unreachable_resolver_times_out_per_lookup(
    lookup: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("nameserver", "127.0.0.1:9")  # nothing listens: each lookup times out
    monkeypatch.setenv("timeout", "0.3")
    out, page = lookup.analytics(_traffic())
    assert out["x_domain_name"].isna().all()
    assert "timeout" in page or "NoNameservers" in page


def test_missing_columns(lookup: ModuleType) -> None:
    with pytest.raises(KeyError, match=r"none of value, src_ref.value, dst_ref.value"):
        lookup.analytics(pd.DataFrame({"id": ["process--1"], "type": ["process"]}))


def test_label_declares_network(lookup: ModuleType) -> None:
    labels = dockerfile_labels("domain_lookup")
    assert labels["huntline.network"] == "true"
    assert set(labels["huntline.parameters"].split(",")) == set(lookup.PARAMETERS)

"""Placeholders in patterns: rendering, escaping and chunking."""

from __future__ import annotations

from stix2patterns.validator import run_validator

from huntline.intel.template import chunked_patterns, render, sample, unknown_placeholders

PATTERN = "[ipv4-addr:value IN {{ intel.ipv4 }}] OR [domain-name:value IN {{intel.domain}}]"


def test_render_escapes_and_empty_types_match_nothing() -> None:
    rendered = render(PATTERN, {"ipv4": ["192.0.2.1", "192.0.2.2"], "url": ["x"]})
    assert rendered == (
        "[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')] OR [domain-name:value IN ('')]"
    )
    quoted = render("[file:name IN {{ intel.file_name }}]", {"file_name": ["it's\\x.exe"]})
    assert quoted == "[file:name IN ('it\\'s\\\\x.exe')]"
    assert run_validator(quoted, stix_version="2.0") == []


def test_thousands_of_indicators_are_chunked() -> None:
    ips = [f"10.0.{i // 256}.{i % 256}" for i in range(600)]
    patterns = chunked_patterns(PATTERN, {"ipv4": ips, "domain": ["a.example"]}, chunk=250)
    assert len(patterns) == 3
    assert [p.count("'10.0.") for p in patterns] == [250, 250, 100]
    assert "'a.example'" in patterns[0] and "IN ('')" in patterns[1]
    assert chunked_patterns("[process:pid > 0]", {"ipv4": ips}) == ["[process:pid > 0]"]


def test_validation_helpers() -> None:
    assert run_validator(sample(PATTERN), stix_version="2.0") == []
    assert unknown_placeholders("[x:value IN {{ intel.ip }}]") == ["ip"]

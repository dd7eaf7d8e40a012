"""The huntline pySigma backend: both halves of a rule, and the local half evaluated.

Every Sigma value form is converted from a real rule text and its local condition run over rows
that must and must not match; the STIX half is checked to be a valid pattern that keeps every
row the local half keeps (stix2-matcher as the oracle of STIX semantics).
"""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.plugins import InstalledSigmaPlugins
from stix2matcher.matcher import match
from stix2patterns.validator import run_validator

from huntline.expressions import evaluate, parse_condition
from huntline.sigma.backend import Conversion, HuntlineBackend
from huntline.sigma.pipeline import huntline_pipeline

HEAD = """
title: t
id: 5d1e6a4e-3b2c-4d5e-8f90-123456789abc
logsource: {category: process_creation, product: windows}
"""


def convert(detection: str, head: str = HEAD) -> Conversion:
    rule = (
        textwrap.dedent(head) + "detection:\n" + textwrap.indent(textwrap.dedent(detection), "  ")
    )
    [conversion] = HuntlineBackend().convert(SigmaCollection.from_yaml(rule))
    assert isinstance(conversion, Conversion)
    return conversion


def process(image: str, command_line: str | None = None, **more: object) -> dict[str, object]:
    directory, _, name = image.rpartition("\\")
    return {
        "binary_ref.parent_directory_ref.path": directory,
        "binary_ref.name": name,
        "command_line": command_line,
        **more,
    }


def matched(conversion: Conversion, rows: list[dict[str, object]]) -> list[bool]:
    mask = evaluate(parse_condition(conversion.condition), pd.DataFrame(rows)).tolist()
    if conversion.pattern is not None:  # the pushed-down half keeps every row the rule keeps
        assert run_validator(conversion.pattern) == []
        for row, hit in zip(rows, mask, strict=True):
            if hit:
                assert _stix_keeps(conversion.pattern, row), (conversion.pattern, row)
    return mask


def _stix_keeps(pattern: str, row: dict[str, object]) -> bool:
    process: dict[str, object] = {"type": "process", "binary_ref": "1"}
    if row.get("command_line") is not None:
        process["command_line"] = row["command_line"]
    objects = {
        "0": process,
        "1": {"type": "file", "name": row["binary_ref.name"], "parent_directory_ref": "2"},
        "2": {"type": "directory", "path": row["binary_ref.parent_directory_ref.path"]},
    }
    observation = {
        "type": "observed-data",
        "id": "observed-data--00000000-0000-4000-8000-000000000000",
        "first_observed": "2020-01-01T00:00:00Z",
        "last_observed": "2020-01-01T00:00:00Z",
        "number_observed": 1,
        "objects": objects,
    }
    return bool(match(pattern, [observation]))


def test_plugin_discovery_finds_backend_and_pipeline() -> None:
    plugins = InstalledSigmaPlugins.autodiscover()
    assert plugins.backends["huntline"] is HuntlineBackend
    assert plugins.pipelines["huntline"] is huntline_pipeline


def test_both_halves_of_a_typical_rule() -> None:
    conversion = convert(
        r"""
        selection_img:
          - Image|endswith: '\esentutl.exe'
          - OriginalFileName: 'esentutl.exe'
        selection_cli:
          CommandLine|contains|windash: ' /y '
        condition: all of selection_*
        """
    )
    assert conversion.entity == "process"
    # OriginalFileName is checked locally only, so the image test cannot narrow the fetch
    assert conversion.pattern == "[process:command_line MATCHES '(?i) -y | /y | –y | —y | ―y ']"
    assert conversion.condition == (
        "(iendswith(path(field('binary_ref.parent_directory_ref.path'), field('binary_ref.name')),"
        " '\\\\esentutl.exe') or lower(field('binary_ref.x_original_file_name')) == "
        "'esentutl.exe') and (icontains(field('command_line'), ' -y ') or "
        "icontains(field('command_line'), ' /y ') or icontains(field('command_line'), ' –y ') or "
        "icontains(field('command_line'), ' —y ') or icontains(field('command_line'), ' ―y '))"
    )
    assert conversion.connector_fields == ("binary_ref.x_original_file_name",)
    rows = [
        process(r"C:\Windows\System32\ESENTUTL.EXE", "esentutl.exe /Y /vss x"),
        process(r"C:\Windows\System32\esentutl.exe", "esentutl.exe /p x"),
        process(r"C:\Tools\notesentutl.exe", "x /y z"),
        process(
            r"C:\Tools\renamed.exe", "x –y z", **{"binary_ref.x_original_file_name": "ESENTUTL.exe"}
        ),
    ]
    assert matched(conversion, rows) == [True, False, False, True]


@pytest.mark.parametrize(
    ("detection", "rows", "expected"),
    [
        # wildcards inside, case-insensitive; ? is one character
        (
            r"sel: {CommandLine: 'net* user ?dmin*'}",
            ["NET.exe user Admin /add", "net user dmin", "cmd /c net user xdmin"],
            [True, False, False],
        ),
        # |cased
        (r"sel: {CommandLine|cased|contains: 'Invoke-'}", ["Invoke-X", "invoke-x"], [True, False]),
        # |all: every value
        (
            r"sel: {CommandLine|contains|all: ['-nop', 'hidden']}",
            ["x -NOP -w Hidden", "x -nop"],
            [True, False],
        ),
        # |re with flags
        (
            r"sel: {CommandLine|re|i: 'enc(odedcommand)?\s+[a-z0-9+/=]{8}'}",
            ["-EncodedCommand SQBFAFgA", "-enc x"],
            [True, False],
        ),
        (r"sel: {CommandLine|re: '^a.b$'}", ["a\nb", "axb"], [False, True]),
        (r"sel: {CommandLine|re|s: '^a.b$'}", ["a\nb", "axb"], [True, True]),
        (r"sel: {CommandLine|re|m: '^b$'}", ["a\nb", "ab"], [True, False]),
        # |base64offset|contains: the three encodings of each offset
        (
            r"sel: {CommandLine|base64offset|contains: 'IEX'}",
            ["powershell -e SUVY", "powershell -e lFWC", "powershell -e JRVh", "SUVZ"],
            [True, True, True, False],
        ),
        # |startswith, not, 1 of, parentheses
        (
            r"""
            a: {CommandLine|startswith: 'rundll32'}
            b: {CommandLine|contains: 'comsvcs'}
            f: {CommandLine|endswith: 'full'}
            condition: (1 of a or b) and not f
            """,
            ["RUNDLL32 x", "y comsvcs z", "rundll32 comsvcs full", "other"],
            [True, True, False, False],
        ),
        # null and empty string
        (r"sel: {CommandLine: null}", [None, "x", ""], [True, False, False]),
        (r"sel: {CommandLine: ''}", [None, "x", ""], [False, False, True]),
        # |exists
        (r"sel: {CommandLine|exists: true}", [None, "x"], [False, True]),
    ],
)
def test_value_forms(detection: str, rows: list[str | None], expected: list[bool]) -> None:
    if "condition:" not in detection:
        detection += "\ncondition: sel"
    conversion = convert(detection)
    table = [process(r"C:\x\y.exe", row) for row in rows]
    assert matched(conversion, table) == expected


def test_numbers_cidr_and_fieldref() -> None:
    network = HEAD.replace("process_creation", "network_connection")
    conversion = convert(
        """
        sel:
          DestinationIp|cidr: '10.0.0.0/8'
          DestinationPort|gte: 1024
          SourcePort|fieldref: DestinationPort
        condition: sel
        """,
        head=network,
    )
    assert conversion.entity == "network-traffic"
    assert conversion.pattern is None  # cidr is checked locally (stix2-matcher and IPv6)
    rows = pd.DataFrame(
        {
            "dst_ref.value": ["10.2.3.4", "10.2.3.4", "192.168.1.1"],
            "dst_port": [4444, 80, 4444],
            "src_port": [4444, 80, 4444],
        }
    )
    assert evaluate(parse_condition(conversion.condition), rows).tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("detection", "message"),
    [
        (
            "sel: {GrantedAccess: '0x1010'}\ncondition: sel",
            "unmapped field 'GrantedAccess': log source process_creation has no column for it",
        ),
        (
            "keywords: ['mimikatz']\ncondition: keywords",
            "a keyword (a value without a field) is not supported",
        ),
        (
            "sel: {CommandLine|expand: '%Admins%'}\ncondition: sel",
            "field command_line: placeholder %Admins% is not supported: resolve it with a "
            "placeholder pipeline first",
        ),
    ],
)
def test_what_cannot_be_converted_names_the_field(detection: str, message: str) -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError) as caught:
        convert(detection)
    assert str(caught.value).split(" in <")[0] == message


@pytest.mark.parametrize(
    ("image", "pattern"),
    [
        (r"'*\cmd.exe'", "[process:binary_ref.name MATCHES '(?i)^cmd\\\\.exe$']"),
        (r"'*.exe'", "[process:binary_ref.name MATCHES '(?i)\\\\.exe$']"),
        # a wildcard after the last separator may span separators: the name is not implied
        (r"'*\temp\\*'", None),
        (r"'C:\Program Files*'", None),
        (r"'*\cve-202*'", None),
    ],
)
def test_a_path_pushes_down_only_what_it_implies_about_the_name(
    image: str, pattern: str | None
) -> None:
    conversion = convert(f"sel: {{Image: {image}}}\ncondition: sel")
    assert conversion.pattern == pattern

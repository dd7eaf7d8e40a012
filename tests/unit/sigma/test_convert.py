"""Rule files -> results: one bad rule never stops the others, and each error names its file
and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from huntline.sigma.convert import convert_paths

GOOD = """title: good
id: 11111111-2222-4333-8444-555555555555
logsource: {category: process_creation, product: windows}
detection:
  sel: {CommandLine|contains: 'x'}
  condition: sel
"""
BAD = {
    "invalid_yaml.yml": "title: bad\ndetection: [unclosed\n",
    "unknown_modifier.yml": GOOD.replace("contains", "contians"),
    "unmapped.yml": GOOD.replace("CommandLine|contains", "GrantedAccess"),
    "bad_regex.yml": GOOD.replace("CommandLine|contains: 'x'", "CommandLine|re: '(unclosed'"),
    "no_detection.yml": "\n".join(GOOD.splitlines()[:3]),
    "ps.yml": GOOD.replace("process_creation", "ps_script"),
}


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    (tmp_path / "good.yml").write_text(GOOD)
    for name, text in BAD.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_bad_rules_do_not_stop_the_good_one_and_say_why(rules: Path) -> None:
    results = {result.path.name: result for result in convert_paths([rules])}
    assert results["good.yml"].conversion is not None
    assert results["good.yml"].conversion.condition == "icontains(field('command_line'), 'x')"
    errors = {
        name: (r.error.context["reason"], r.error.context["field"], str(r.error))
        for name, r in results.items()
        if r.error is not None
    }
    assert errors == {
        "bad_regex.yml": (
            "invalid regular expression",
            "CommandLine",
            f"{rules}/bad_regex.yml: field CommandLine: Regular expression '(unclosed' is "
            "invalid: b'missing ): (unclosed'",
        ),
        "invalid_yaml.yml": (
            "invalid YAML",
            None,
            f"{rules}/invalid_yaml.yml: invalid YAML: line 3: did not find expected ',' or ']'",
        ),
        "no_detection.yml": (
            "invalid detection",
            None,
            f"{rules}/no_detection.yml: Sigma rule must have a detection definitions",
        ),
        "ps.yml": (
            "unsupported log source",
            None,
            f"{rules}/ps.yml: log source windows/ps_script/-: not supported (huntline maps the "
            "categories dns_query, file_event, image_load, network_connection, process_creation,"
            " registry_add, registry_delete, registry_event, registry_rename, registry_set)",
        ),
        "unknown_modifier.yml": (
            "unsupported modifier",
            "CommandLine",
            f"{rules}/unknown_modifier.yml: field CommandLine: Unknown modifier 'contians'",
        ),
        "unmapped.yml": (
            "unmapped field",
            "GrantedAccess",
            f"{rules}/unmapped.yml: unmapped field 'GrantedAccess': log source process_creation "
            "has no column for it",
        ),
    }

"""The one registry idiom: duplicates are errors, unknown names get "did you mean", and plug-ins
come in through real entry points (a distribution written to a temporary folder on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from huntline.errors import PluginError
from huntline.registry import Registry
from huntline.schemes import has_scheme, scheme_of, split_scheme


def plugin_distribution(root: Path, groups: dict[str, dict[str, str]], module: str) -> Path:
    """An installed distribution as pip leaves it: ``*.dist-info`` with ``entry_points.txt``
    (``groups``: group -> name -> ``module:attribute``), and the plug-in's module beside it."""
    info = root / "huntline_demo_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: huntline-demo-plugin\nVersion: 0.1\n"
    )
    lines = [
        line
        for group, entries in groups.items()
        for line in (f"[{group}]", *(f"{name} = {target}" for name, target in entries.items()))
    ]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    (root / "huntline_demo_plugin.py").write_text(module)
    return root


@pytest.fixture
def on_path(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("huntline_demo_plugin", None)


def test_a_name_is_taken_once() -> None:
    colours: Registry[str] = Registry("colour")
    colours.add("red", "#f00")
    with pytest.raises(PluginError) as caught:
        colours.add("red", "#e00")
    assert str(caught.value) == (
        "colour 'red' is registered twice\n  hint: give the new one another name"
    )
    assert colours.get("red") == "#f00"


def test_an_unknown_name_says_did_you_mean_and_lists_the_valid_ones() -> None:
    colours: Registry[str] = Registry("colour")
    for name in ("red", "green", "blue"):
        colours.add(name, name)
    with pytest.raises(PluginError) as caught:
        colours.get("gren")
    assert caught.value.message == (
        "unknown colour 'gren' (did you mean 'green'?); known: red, green, blue"
    )
    assert colours.unknown("zzz") == "unknown colour 'zzz'; known: red, green, blue"
    assert colours.find("zzz") is None and "zzz" not in colours and "red" in colours


def test_a_plugin_comes_in_through_its_entry_point_and_loads_only_when_asked(
    on_path: Path,
) -> None:
    plugin_distribution(
        on_path, {"huntline.test_colours": {"teal": "huntline_demo_plugin:TEAL"}}, "TEAL = 1\n"
    )
    colours: Registry[str] = Registry("colour", "huntline.test_colours")
    colours.add("red", "#f00")
    assert colours.names() == ("red", "teal")
    assert "huntline_demo_plugin" not in sys.modules, "listing names imports no plug-in"
    assert colours.get("teal") == 1
    assert dict(colours.items()) == {"red": "#f00", "teal": 1}


def test_a_plugin_may_not_take_a_builtin_name(on_path: Path) -> None:
    plugin_distribution(
        on_path, {"huntline.test_colours": {"red": "huntline_demo_plugin:RED"}}, "RED = 1\n"
    )
    colours: Registry[str] = Registry("colour", "huntline.test_colours")
    colours.add("red", "#f00")
    with pytest.raises(PluginError) as caught:
        colours.names()
    assert str(caught.value) == (
        "colour 'red' is registered twice (entry point 'huntline_demo_plugin:RED' in group "
        "'huntline.test_colours')\n"
        "  hint: uninstall one of the plug-ins, or rename its entry point"
    )


def test_a_broken_or_wrong_plugin_is_a_clear_error(on_path: Path) -> None:
    plugin_distribution(
        on_path,
        {
            "huntline.test_colours": {
                "gone": "huntline_demo_plugin:MISSING",
                "odd": "huntline_demo_plugin:ODD",
            }
        },
        "ODD = 42\n",
    )
    colours: Registry[str] = Registry(
        "colour", "huntline.test_colours", accepts=lambda item: isinstance(item, str)
    )
    with pytest.raises(PluginError) as caught:
        colours.get("gone")
    assert str(caught.value) == (
        "colour 'gone' cannot be loaded from 'huntline_demo_plugin:MISSING': AttributeError: "
        "module 'huntline_demo_plugin' has no attribute 'MISSING'\n"
        "  hint: check the package that declares it in the entry-point group "
        "huntline.test_colours"
    )
    with pytest.raises(PluginError) as caught:
        colours.get("odd")
    assert caught.value.message == (
        "colour 'odd' from 'huntline_demo_plugin:ODD' is not a colour: 42"
    )


def test_a_lazy_builtin_is_imported_only_when_named(on_path: Path) -> None:
    (on_path / "huntline_demo_plugin.py").write_text("GREY = '#888'\n")
    colours: Registry[str] = Registry("colour")
    colours.add("red", "#f00")
    colours.add_lazy("grey", "huntline_demo_plugin:GREY")
    assert colours.names() == ("red", "grey") and "grey" in colours
    assert "huntline_demo_plugin" not in sys.modules
    assert colours["grey"] == "#888"
    with pytest.raises(PluginError, match="colour 'grey' is registered twice"):
        colours.add("grey", "#999")


def readme_check() -> str:
    """The quality check plug-in the README's "Extending huntline" shows, as written there."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Extending huntline") :]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("```", start)]


#: A third party's package: one module with a runner, a data source kind, an alert sink, a
#: quality check (the README's) and an intel feed, each registered by one entry point.
PLUGIN = (
    readme_check()
    + """
from huntline.alert.sink_registry import SinkKind
from huntline.fetch.sources.resolve import SourceKind
from huntline.intel.model import Indicator


class EchoRunner:
    scheme = "echo"

    def target(self, reference):
        return reference

    def explain(self, reference):
        return f"echo {reference}"

    def run(self, reference, input_files, params, workdir, limits):
        raise NotImplementedError


class DemoFeed:
    kind = "demo"

    def read(self, name, config):
        return [Indicator(type="ipv4", value="192.0.2.9", feed=name)]


def unusable(url):
    return None if url.startswith("demo://ok") else f"demo cannot send to {url}"


ECHO = EchoRunner()
SOURCE = SourceKind("demo", ("demo",), lambda source, profiles: source, "demo://NAME")
SINK = SinkKind(build=lambda url: url, problem=unusable, redact=lambda url: url)
"""
)

#: Run in a fresh interpreter, so that every registry discovers its entry points anew.
USES = '''
from datetime import UTC, datetime

import pandas as pd

from huntline.alert.sink_registry import url_problem
from huntline.analytics.runners import runner_for
from huntline.book import parse_book
from huntline.fetch.sources.resolve import kind_of
from huntline.intel import FeedConfig, read_feed
from huntline.quality import run_gate

assert runner_for("echo://x").explain("echo://x") == "echo echo://x"
assert kind_of("demo://host").name == "demo"
assert url_problem("demo://nope") == "demo cannot send to demo://nope"
config = FeedConfig(kind="demo", path="unused")
assert [i.value for i in read_feed("f", config)] == ["192.0.2.9"]
book = parse_book("""
id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e11
title: plug-ins
steps:
  - get: procs
    entity: process
    from: demo://edr
  - expect: procs
    checks: [{positive: pid}]
  - apply: echo://score
    on: procs
""")
result = run_gate(
    pd.DataFrame({"pid": [4, 0, 7]}),
    book.steps[1].checks,
    variable="procs",
    step_id="01_expect",
    on_fail="warn",
    reference=datetime(2024, 6, 3, tzinfo=UTC),
)
(check,) = result.checks
print(check.check, check.expectation, check.passed, check.observed, sep=" | ")
'''


def test_third_party_plugins_come_in_through_entry_points(tmp_path: Path) -> None:
    """A runner, a data source, a sink, a quality check and a feed, each one module (here the
    same one) and one entry point, used through huntline's own registries."""
    plugin_distribution(
        tmp_path,
        {
            "huntline.runners": {"echo": "huntline_demo_plugin:ECHO"},
            "huntline.sources": {"demo": "huntline_demo_plugin:SOURCE"},
            "huntline.sinks": {"demo": "huntline_demo_plugin:SINK"},
            "huntline.quality_checks": {"positive": "huntline_demo_plugin:Positive"},  # README
            "huntline.feeds": {"demo": "huntline_demo_plugin:DemoFeed"},
        },
        PLUGIN,
    )
    path = os.pathsep.join([str(tmp_path), *sys.path])
    done = subprocess.run(
        [sys.executable, "-c", USES],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        "positive(pid) | expect_column_values_to_be_between | False | "
        "1 of 3 non-null values unexpected, e.g. 0"
    )


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("docker://susp_scoring", ("docker", "susp_scoring")),
        ("  HTTPS://example.org/b.json ", ("https", "example.org/b.json")),
        ("file:///tmp/a://b", ("file", "/tmp/a://b")),
        ("edr", ("", "edr")),
        ("ghcr.io/org/image:1.0", ("", "ghcr.io/org/image:1.0")),
    ],
)
def test_one_scheme_parser(text: str, parts: tuple[str, str]) -> None:
    assert split_scheme(text) == parts
    assert scheme_of(text, "docker") == (parts[0] or "docker")
    assert has_scheme(text) == bool(parts[0])

"""The pack's covering fetch: which kind it takes, and that each member's rows are the same
whichever (the OR, split in chunks, is a superset of each member's own fetch)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from inline_books import pack_member
from sigma_sample import sigma_sample

from huntline.book.observables import every_entity_pattern
from huntline.book.steps import GetStep
from huntline.packs import cover, load_pack, run_pack
from huntline.packs.cover import covering_fetch, or_pattern
from huntline.patterns import compile_pattern
from huntline.steps.context import RunContext
from huntline.steps.get import fetch_step
from huntline.storage import key_of, open_store
from huntline.tables import parquet_table
from huntline.window import Window

WINDOW = Window(datetime(2024, 6, 3, tzinfo=UTC), datetime(2024, 6, 4, tzinfo=UTC))
EVERY = every_entity_pattern("process")
#: Member patterns over the sample bundle: hits and misses, several observations, AND, NOT,
#: LIKE, MATCHES, IN, a parent reference, and the Sigma conversions shipped in hunts/sigma.
PATTERNS = [
    "[process:name IN ('cmd.exe', 'powershell.exe')]",
    "[process:parent_ref.name = 'explorer.exe']",
    "[process:name = 'net.exe'] OR [process:name LIKE 'mimi%']",
    "[process:command_line MATCHES '(?i)whoami|-enc' AND process:name NOT = 'cmd.exe']",
    "[process:name = 'no-such-process.exe']",
    "[process:pid > 1000 AND process:name LIKE '%.EXE']",
]


def sigma_patterns(repo_root: Path) -> list[str]:
    from huntline.steps.book_checks import load_hunt

    found = []
    for path in sigma_sample(repo_root):  # six of hunts/sigma's 1,119 books
        step = load_hunt(path).steps[0]
        assert isinstance(step, GetStep)
        if step.where != EVERY:
            found.append(step.where)
    return found


def test_bundle_sources_fetch_every_entity_and_profiles_the_or_in_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    members = [(f"m{n}.yaml", pattern) for n, pattern in enumerate(PATTERNS)]
    bundle = covering_fetch("process", "file:///data/b.json", members)
    assert (bundle.kind, bundle.queries) == ("every entity", (EVERY,))
    assert bundle.reason == (
        "file:///data/b.json is read whole whatever the pattern; each member selects its own rows"
    )
    monkeypatch.setattr(cover, "CHUNK", 4)
    edr = covering_fetch("process", "edr", members)
    assert edr.kind == "or" and len(edr.queries) == 2
    assert edr.queries[1] == (
        "[(process:name = 'no-such-process.exe') OR "
        "(process:pid > 1000 AND process:name LIKE '%.EXE')]"
    )
    assert edr.where == " OR ".join(edr.queries)
    assert edr.reason == "the OR of 6 members' patterns in 2 queries"


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (EVERY, "the pattern of b.yaml is every entity of the type"),
        (
            "[process:name = 'a'] START t'2024-01-01T00:00:00Z' STOP t'2024-01-02T00:00:00Z'",
            "the pattern of b.yaml has a START/STOP of its own",
        ),
        (
            "[process:name = 'a' AND file:name = 'b']",
            "the pattern of b.yaml compares file, process properties, not only process's",
        ),
        (
            "[process:name IN {{ intel.process }}]",
            "the pattern of b.yaml is an intel template, filled per run",
        ),
    ],
)
def test_a_member_that_is_no_safe_disjunct_makes_the_fetch_every_entity(
    pattern: str, why: str
) -> None:
    chosen = covering_fetch("process", "edr", [("a.yaml", PATTERNS[0]), ("b.yaml", pattern)])
    assert (chosen.kind, chosen.queries, chosen.reason) == ("every entity", (EVERY,), why)


def test_too_many_members_fetch_every_entity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cover, "MAX_OR_MEMBERS", 3)
    chosen = covering_fetch("process", "edr", [(f"{n}", PATTERNS[n]) for n in range(4)])
    assert (chosen.kind, chosen.reason) == ("every entity", "4 members, more than 3 to OR")


def test_or_pattern_joins_observations_inside_one() -> None:
    assert or_pattern(["[process:name = 'a'] OR [process:pid = 1]", "[process:name = 'b']"]) == (
        "[(process:name = 'a') OR (process:pid = 1) OR (process:name = 'b')]"
    )


def _fetch(storage: str, where: str, queries: tuple[str, ...] | None, name: str) -> pa.Table:
    bundle = Path(__file__).resolve().parents[3] / "hunts/data/sample_endpoint_bundle.json"
    step = GetStep.model_validate(
        {"get": "procs", "entity": "process", "from": f"file://{bundle}", "where": where}
    )
    context = RunContext(storage=storage, hunt_id=name, run_date="d", flow_run_id="r")
    ref = fetch_step(context, "00_get", step, WINDOW, queries).tables["procs"]
    store = open_store(storage)
    return parquet_table(store.get_bytes(key_of(store, ref.uri)))


def _selected(table: pa.Table, pattern: str) -> list[str]:
    return sorted(
        table.filter(compile_pattern(pattern).table_mask(table, "process"))["id"].to_pylist()
    )


def test_each_member_selects_the_same_rows_from_the_or_as_from_every_entity_and_alone(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patterns = [*PATTERNS, *sigma_patterns(repo_root)]
    monkeypatch.setattr(cover, "CHUNK", 3)  # several queries, their rows merged
    chosen = covering_fetch("process", "edr", [(p, p) for p in patterns])
    assert chosen.kind == "or" and len(chosen.queries) == 4
    storage = tmp_path.as_uri()
    ored = _fetch(storage, chosen.where, chosen.queries, "or")
    every = _fetch(storage, EVERY, None, "every")
    assert ored.num_rows < every.num_rows  # the OR did leave rows out
    hits = 0
    for n, pattern in enumerate(patterns):
        alone = sorted(_fetch(storage, pattern, None, f"alone{n}")["id"].to_pylist())
        assert _selected(ored, pattern) == _selected(every, pattern) == alone, pattern
        hits += bool(alone)
    assert hits >= 4


def test_a_pack_raises_the_same_alerts_with_the_or_as_with_every_entity(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = repo_root / "hunts/data/sample_endpoint_bundle.json"
    members = tmp_path / "members"
    members.mkdir()
    for n, pattern in enumerate(PATTERNS):
        ident = f"00000000-0000-4000-8000-{n:012d}"
        text = pack_member(ident, f"m{n}", bundle, pattern)
        (members / f"m{n}.yaml").write_text(text)
    pack_file = tmp_path / "p.pack.yaml"
    pack_file.write_text(
        f"pack: p\ntitle: p\nsource: file://{bundle}\nentity: process\n"
        "window: {last: 24h}\nmembers: members/\n"
    )
    pack = load_pack(pack_file)
    runs = {}
    for kind, schemes in (("every entity", cover._BUNDLE_SCHEMES), ("or", frozenset())):
        monkeypatch.setattr(cover, "_BUNDLE_SCHEMES", schemes)
        storage = (tmp_path / kind.replace(" ", "_")).as_uri()
        report = run_pack(pack, storage, WINDOW.stop, start=WINDOW.start, stop=WINDOW.stop,
                          dry_run=True)  # fmt: skip
        assert report.cover.kind == kind
        runs[kind] = {m.title: (m.rows, m.alerts, m.error) for m in report.members}
    assert runs["or"] == runs["every entity"]
    assert sum(bool(alerts) for _, alerts, _ in runs["or"].values()) >= 4

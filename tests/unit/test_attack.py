"""The ATT&CK Navigator layer of the books' technique tags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from huntline.attack import attack_layer, techniques
from huntline.book import parse_book

BOOK = """id: 0b5f3f3e-6f7c-4a57-9d34-2f3c1f0f7e1{n}
title: book {n}
tags: [{tags}]
steps:
  - get: procs
    entity: process
    from: edr
    where: "[process:name = 'x']"
"""


def book(n: int, tags: str):  # type: ignore[no-untyped-def]
    return Path(f"b{n}.yaml"), parse_book(BOOK.format(n=n, tags=tags))


def test_only_technique_tags_count() -> None:
    _, parsed = book(
        1, "attack.execution, attack.t1059.001, attack.t1059, attack.t1059.001, cve.2021"
    )
    assert techniques(parsed) == ["T1059.001", "T1059"]


def test_the_score_is_the_number_of_books() -> None:
    layer = attack_layer([book(1, "attack.t1003.001, attack.t1059"), book(2, "attack.t1003.001")])
    assert layer["domain"] == "enterprise-attack" and layer["versions"]["layer"] == "4.5"
    assert [(t["techniqueID"], t["score"], t["comment"]) for t in layer["techniques"]] == [
        ("T1003.001", 2, "book 1 (b1.yaml); book 2 (b2.yaml)"),
        ("T1059", 1, "book 1 (b1.yaml)"),
    ]
    assert layer["gradient"]["maxValue"] == 2


def test_the_command_covers_the_library(repo_root: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "huntline.cli", "attack-layer", "hunts/"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    )
    techniques = json.loads(result.stdout)["techniques"]
    scores = {t["techniqueID"]: t["score"] for t in techniques}
    sigma = {  # books of the Sigma pack (hunts/sigma/, one per rule) by technique
        t["techniqueID"]: t["comment"].count("(proc_creation_") for t in techniques
    }
    assert len(scores) == 235  # the Sigma pack's 1,119 rules cover most of them
    # credential_dumping, lsass_dump_files, suspicious_processes, and 30 Sigma rules
    assert (scores["T1003.001"], sigma["T1003.001"]) == (33, 30)
    # encoded_powershell, suspicious_processes, and 71 Sigma rules
    assert (scores["T1059.001"], sigma["T1059.001"]) == (73, 71)
    assert (scores["T1548.002"], sigma["T1548.002"]) == (29, 29)  # UAC bypasses: Sigma only
    assert {"T1566.001", "T1059.004", "T1041", "T1197", "T1003.002"} <= set(scores)

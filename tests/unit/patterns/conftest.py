"""Fixtures of the pattern tests: the observed-data of every bundle in ../shared/data and
hunts/data, and the patterns of the shipped books."""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma_sample import sigma_sample

REPO = Path(__file__).resolve().parents[3]
#: What an ``{{ intel.x }}`` placeholder of a book becomes here: a STIX set literal.
INTEL_SET = "('powershell.exe', 'cmd.exe', 'esentutl.exe')"


def observations(path: Path) -> list[dict[str, Any]]:
    """The observed-data of a bundle (``.json`` or ``.json.gz``)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        bundle = json.load(handle)
    return [o for o in bundle.get("objects", []) if o.get("type") == "observed-data"]


def bundle_files(shared_data: Path) -> list[Path]:
    """Every STIX 2.0 bundle in ../shared/data and hunts/data."""
    found = sorted((shared_data / "stix").glob("*.json"))
    found += sorted((shared_data / "otrf").glob("*.stix.json.gz"))
    found += [p for p in sorted((REPO / "hunts" / "data").glob("*.json")) if _is_bundle(p)]
    return found


def _is_bundle(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return '"observed-data"' in text and '"objects"' in text


@lru_cache(maxsize=1)
def book_patterns() -> list[tuple[str, str, str]]:
    """``(book, entity, where)`` of every ``get`` step with a ``where`` in hunts/ (templates
    filled with :data:`INTEL_SET`), and the "every entity" form of each entity they fetch."""
    found: list[tuple[str, str, str]] = []
    sigma = REPO / "hunts" / "sigma"
    books = [p for p in sorted((REPO / "hunts").rglob("*.yaml")) if p.parent != sigma]
    for path in [*books, *sigma_sample(REPO)]:  # six of the Sigma pack's 1,119 (see there)
        if path.name.endswith(".tests.yaml"):
            continue
        book = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(book, dict) or not isinstance(book.get("steps"), list):
            continue
        for step in book["steps"]:
            if isinstance(step, dict) and "get" in step and step.get("where"):
                where = re.sub(r"\{\{[^}]*\}\}", INTEL_SET, str(step["where"]))
                found.append((path.name, str(step.get("entity")), where))
    for entity in sorted({entity for _, entity, _ in found}):
        key = "name" if entity == "process" else "value"
        every = f"[{entity}:type = '{entity}' OR {entity}:{key} LIKE '%']"
        found.append(("every entity", entity, every))
    return found


@pytest.fixture(scope="session")
def bundles(shared_data: Path) -> dict[str, list[dict[str, Any]]]:
    """``file name -> observed-data`` of every bundle."""
    return {path.name: observations(path) for path in bundle_files(shared_data)}


@pytest.fixture(scope="session")
def shipped_patterns() -> list[tuple[str, str, str]]:
    """``(book, entity, where)``: see :func:`book_patterns`."""
    return book_patterns()

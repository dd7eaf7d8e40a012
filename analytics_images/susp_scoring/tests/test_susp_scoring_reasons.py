"""The additions to the reference: a normalised score, the reasons, and extra rule packs."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from image_testing import dockerfile_labels, shared_parquet


def _procs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"process--{i}" for i in range(5)],
            "type": "process",
            "command_line": ["ls -la", "whoami", "powershell -enc AAAA", "history -c",
                             "sh -c 'echo k >> /root/.ssh/authorized_keys'"],
            "binary_ref.name": ["ls", "whoami", "powershell.exe", "bash", "sh"],
            "parent_ref.binary_ref.name": ["bash", "bash", "WINWORD.EXE", "sshd", "nginx"],
        }
    )  # fmt: skip


def test_norm_and_reasons(scoring: ModuleType) -> None:
    out = scoring.analytics(_procs())
    assert out["x_suspicious_score"].tolist() == [0, 1, 4, 0, 0]
    assert out["x_suspicious_score_norm"].tolist() == [0.0, 0.25, round(4 / 7, 4), 0.0, 0.0]
    assert out["x_suspicious_reasons"].fillna("").tolist() == [
        "",
        "Account Discovery (T1087)",
        "encoded powershell (T1086); MS Office spawns shell",
        "",
        "",
    ]


def test_norm_is_in_unit_interval_on_the_sample(scoring: ModuleType) -> None:
    out = scoring.analytics(pd.read_parquet(shared_parquet("procs.parquet.gz")))
    assert out["x_suspicious_score_norm"].between(0, 1).all()
    assert (out["x_suspicious_reasons"].notna() == (out["x_suspicious_score"] > 0)).all()


def test_bundled_pack_adds_rules_and_techniques(
    scoring: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("extra_rules", "activity")
    out = scoring.analytics(_procs())
    assert out["x_suspicious_score"].tolist() == [0, 1, 4, 1, 5]
    assert out.loc[3, "x_suspicious_reasons"] == "command line matches '*history -c*'"
    assert out.loc[3, "techniques"] == "https://attack.mitre.org/techniques/T1070/003/"
    assert out.loc[4, "x_suspicious_reasons"] == (
        "SSH authorized_keys changed (T1098.004); web server spawns a shell (T1505.003)"
    )


def test_inline_and_file_packs(
    scoring: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rule = {"description": "ls", "score": 5, "technique": None,
            "when": {"field": "command_line", "op": "equal_to", "value": "ls -la"}}  # fmt: skip
    monkeypatch.setenv("extra_rules", json.dumps([rule]))
    assert scoring.analytics(_procs())["x_suspicious_score"].tolist()[0] == 5
    (tmp_path / "mine.json").write_text(json.dumps({"rules": [rule]}))
    monkeypatch.setenv("extra_rules", f"activity,{tmp_path / 'mine.json'}")
    assert scoring.analytics(_procs())["x_suspicious_score"].tolist() == [5, 1, 4, 1, 5]


def test_unknown_pack_names_the_bundled_ones(
    scoring: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("extra_rules", "lateral")
    with pytest.raises(
        FileNotFoundError, match=r"'lateral' is neither a bundled pack \(activity\)"
    ):
        scoring.analytics(_procs())


def test_label_lists_every_parameter(scoring: ModuleType) -> None:
    declared = set(dockerfile_labels("susp_scoring")["huntline.parameters"].split(","))
    assert declared == set(scoring.PARAMETERS)

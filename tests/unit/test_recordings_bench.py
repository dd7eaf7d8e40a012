"""bench/recordings.py, the library over the OTRF recordings (issue 23's done-when), on two of
them: every book runs without an error, and the table says what each fired on."""

from __future__ import annotations

from pathlib import Path

import recordings  # bench/recordings.py

BOOKS = [
    "credential_dumping",
    "beaconing",
    "outbound_volume",
    "lsass_dump_files",
    "bitsadmin_transfer",
]


def test_two_recordings(repo_root: Path, shared_data: Path) -> None:
    """cmd_dumping_ntds_dit_file_ntdsutil holds 176 connections to IPv6 addresses (::1 and
    link-local), on which the network books failed; cmd_sam_copy_esentutl's one esentutl was
    two process records, so two alerts."""
    books = [repo_root / "hunts" / f"{name}.yaml" for name in BOOKS]
    otrf = shared_data / "otrf"
    names = ["cmd_sam_copy_esentutl", "cmd_dumping_ntds_dit_file_ntdsutil"]
    cells = recordings.survey(books, [otrf / f"{name}.stix.json.gz" for name in names])
    assert [cell.error for cell in cells] == [None] * 10
    fired = {(cell.book, cell.recording): cell.titles for cell in cells if cell.titles}
    assert fired == {
        ("credential_dumping.yaml", "cmd_sam_copy_esentutl"): [
            "Credential dumping on esentutl.exe  /y /vss C:\\windows/system32/config/SAM /d "
            "C:\\ProgramData\\SAM"
        ],
        ("credential_dumping.yaml", "cmd_dumping_ntds_dit_file_ntdsutil"): [
            'Credential dumping on ntdsutil  "ac i ntds" "ifm" "create full '
            'C:\\Windows\\Temp\\ntds_T1003" q q'
        ],
    }
    network = [c for c in cells if c.book in ("beaconing.yaml", "outbound_volume.yaml")]
    assert all(cell.rows["conns"] >= 0 for cell in network)
    assert recordings.markdown(cells).splitlines()[:3] == [
        "| book | cmd_sam_copy_esentutl | cmd_dumping_ntds_dit_file_ntdsutil |",
        "|---|---|---|",
        "| credential_dumping.yaml | 1 alert(s) | 1 alert(s) |",
    ]

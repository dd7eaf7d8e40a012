"""huntline's converted rules against pySigma's SQLite backend, on real OTRF recordings.

The same recordings two ways (the STIX bundle through huntline's tables and local condition;
the raw Sysmon events through the SQLite backend's SQL): the matched processes are equal.
The full cross product is ``bench/sigma_agreement.py``.
"""

from __future__ import annotations

from pathlib import Path

from sigma_agreement import compare

from huntline.sigma.convert import convert_paths

RULES = [
    "proc_creation_win_esentutl_sensitive_file_copy.yml",
    "proc_creation_win_net_groups_and_accounts_recon.yml",
    "proc_creation_win_reg_dumping_sensitive_hives.yml",
    "proc_creation_win_susp_copy_system_dir.yml",
]
RECORDINGS = [
    "cmd_sam_copy_esentutl.zip",
    "empire_shell_net_localgroup_administrators.zip",
    "empire_shell_reg_dump_sam.zip",
]


def test_matches_equal_the_sqlite_backend(shared_data: Path) -> None:
    folder = shared_data / "sigma" / "rules" / "windows" / "process_creation"
    rules = list(convert_paths([folder / name for name in RULES if (folder / name).exists()]))
    assert all(result.conversion is not None for result in rules)
    fired = 0
    for recording, result, ours, theirs in compare(
        [shared_data / "otrf" / name for name in RECORDINGS], rules
    ):
        assert ours == theirs, (recording, result.path.name)
        fired += bool(theirs)
    assert fired >= 3  # the recordings do what the rules look for

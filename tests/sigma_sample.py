"""Six of hunts/sigma's 1,119 generated books, each firing on the OTRF recording of the attack
it describes: the tests that take every shipped pattern through a slow oracle (stix2-matcher
over every bundle, a pack deployment against each member alone) take these six instead of the
whole pack; the whole pack runs in ``huntline test hunts/`` (integration/test_book_tests.py)."""

from __future__ import annotations

from pathlib import Path

SIGMA_SAMPLE = (
    "proc_creation_win_esentutl_sensitive_file_copy",
    "proc_creation_win_hh_html_help_susp_child_process",
    "proc_creation_win_net_groups_and_accounts_recon",
    "proc_creation_win_reg_dumping_sensitive_hives",
    "proc_creation_win_uac_bypass_cmstp",
    "proc_creation_win_uac_bypass_fodhelper",
)


def sigma_sample(repo_root: Path) -> list[Path]:
    """The six books' files."""
    return [repo_root / "hunts" / "sigma" / f"{name}.yaml" for name in SIGMA_SAMPLE]

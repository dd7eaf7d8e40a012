"""Judge a pip-audit JSON report: fail when any pin could not be checked.

pip-audit prints "No known vulnerabilities found" and exits 0 when its advisory service is
unreachable and every pin was skipped, which reads like a clean result. Here a skipped pin is a
failure of its own (exit 2), listed with pip-audit's reason; a vulnerability exits 1.

    python3 scripts/audit_report.py REPORT.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SHOWN = 10  # skipped pins listed by name; the rest are counted


def judge(report: dict) -> tuple[int, list[str]]:
    """The exit code and the lines to print for a pip-audit ``--format json`` report."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    checked = len(dependencies) - len(skipped)
    lines = []
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            lines.append(
                f"VULNERABLE: {dependency['name']} {dependency['version']}: {vuln['id']} "
                f"(fixed in {fixes})"
            )
    if skipped:
        lines.append(
            f"AUDIT INCOMPLETE: {len(skipped)} of {len(dependencies)} pins could not be checked; "
            "this is not a clean result"
        )
        lines += [f"  skipped {d['name']}: {d['skip_reason']}" for d in skipped[:SHOWN]]
        if len(skipped) > SHOWN:
            lines.append(f"  ... and {len(skipped) - SHOWN} more")
        lines.append(
            "  hint: run it where PyPI's JSON API (or osv.dev, with "
            "PIP_AUDIT_VULNERABILITY_SERVICE=osv) is reachable"
        )
    if vulnerable:
        return 1, lines
    if skipped:
        return 2, lines
    return 0, [f"audited {checked} pins: no known vulnerabilities"]


def main(argv: list[str]) -> int:
    code, lines = judge(json.loads(Path(argv[1]).read_text(encoding="utf-8")))
    print("\n".join(lines), file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))

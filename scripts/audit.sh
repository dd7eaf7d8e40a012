#!/usr/bin/env bash
# Audit every pin in constraints.txt against the advisory databases, with pip-audit.
#
#   bash scripts/audit.sh [CONSTRAINTS]      # default: constraints.txt
#
# Needs network access to PyPI's JSON API (pip-audit's default service; set
# PIP_AUDIT_VULNERABILITY_SERVICE=osv to ask osv.dev instead). pip-audit reports "No known
# vulnerabilities found" even when it could check none of the pins (every one "skipped"
# because the service was unreachable), so its verdict is not trusted here: the JSON report is
# read by scripts/audit_report.py, which fails when any pin was skipped.
#
# Exit codes: 0 every pin checked, none vulnerable; 1 a known vulnerability; 2 the audit is
# incomplete (pins skipped, or pip-audit itself failed).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
constraints="${1:-constraints.txt}"
pip_audit_version="2.10.1"

# pip-audit in a venv of its own, so its dependencies never touch the project's pins.
venv="${HUNTLINE_AUDIT_VENV:-$repo/.huntline/audit-venv}"
if [ ! -x "$venv/bin/pip-audit" ]; then
  echo "==> installing pip-audit $pip_audit_version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "pip-audit==$pip_audit_version"
fi

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
echo "==> pip-audit -r $constraints (service: ${PIP_AUDIT_VULNERABILITY_SERVICE:-pypi})" >&2
set +e
"$venv/bin/pip-audit" -r "$constraints" --no-deps --disable-pip --progress-spinner off \
  --vulnerability-service "${PIP_AUDIT_VULNERABILITY_SERVICE:-pypi}" \
  --format json --output "$report"
status=$?
set -e
if [ ! -s "$report" ]; then
  echo "AUDIT FAILED: pip-audit exited with $status and wrote no report" >&2
  exit 2
fi
python3 "$repo/scripts/audit_report.py" "$report"

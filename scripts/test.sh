#!/usr/bin/env bash
# Run the whole test suite: lint, then unit and integration tests against real servers
# (Prefect, Docker, moto S3, HTTP), which the suite starts itself. Extra arguments go to pytest.
#
# With CI=true a skipped test fails the run (see tests/conftest.py), and pytest's exit code 5
# ("no tests collected") is a failure, not a pass.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/bootstrap.sh --test

echo "==> ruff" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "==> mypy (strict, on the package)" >&2
.venv/bin/mypy

echo "==> pytest" >&2
set +e
# --durations: every CI log lists the slowest tests, so the time budget can be watched.
.venv/bin/pytest -ra --durations=30 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"

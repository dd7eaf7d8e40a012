#!/usr/bin/env bash
# Run the sample hunt end to end on embedded defaults: local object storage
# (.huntline/store), a local Prefect server (started and reused), and the sample bundle.
# Extra arguments go to `huntline run`, e.g. --json or --storage s3://bucket/prefix.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/bootstrap.sh
exec .venv/bin/huntline run hunts/suspicious_processes.yaml "$@"

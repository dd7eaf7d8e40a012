#!/usr/bin/env bash
# Set up everything huntline needs on a fresh Debian machine (run as root), idempotently:
#   - Debian packages: docker.io and debootstrap (and, with --test, mariadb-server, postgresql and the
#     headless chromium + chromium-driver the UI test drives);
#   - a running Docker engine;
#   - the venv .venv with huntline installed (versions pinned by constraints.txt);
#   - the local base image and the analytics images.
#
# Sourced by scripts/sample_hunt.sh and scripts/test.sh, so both start from the same state.
# Usage: scripts/bootstrap.sh [--test]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
with_test=0
[ "${1:-}" = "--test" ] && with_test=1

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# 1. Debian packages (gcc, the Python headers and libssl-dev build huntline's C collector,
#    flows/huntline/fetch/stix/_occurrences.c; without them huntline flattens in Python).
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
packages=(docker.io debootstrap ca-certificates gcc libc6-dev libssl-dev)
headers="$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
[ -f "$headers/Python.h" ] || packages+=("$(basename "$(readlink -f "$(command -v "$python")")")-dev")
[ "$with_test" = 1 ] && packages+=(mariadb-server postgresql chromium chromium-driver)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. A Docker engine.
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  mkdir -p "$repo/.huntline"
  nohup dockerd >"$repo/.huntline/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see .huntline/dockerd.log" >&2; exit 1; }
fi

# 3. The venv.
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python" -m venv .venv
fi
stamp=".venv/.huntline-installed"
stale=0
for input in pyproject.toml constraints.txt setup.py flows/huntline/fetch/stix/_*.[ch]; do
  [ "$input" -nt "$stamp" ] && stale=1
done
if [ ! -f "$stamp" ] || [ "$stale" = 1 ]; then
  say "installing huntline and its pinned dependencies into .venv (a few minutes the first time)"
  # Some hosts configure extra local indexes that do not exist; pip warns once per package.
  .venv/bin/pip install -q -c constraints.txt -e ".[test]" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  touch "$stamp"
fi

# 4. Images: a local base (no registry needed), then the analytics images on it.
export HUNTLINE_BASE_IMAGE="${HUNTLINE_BASE_IMAGE:-huntline-base:bookworm}"
bash scripts/build_base_image.sh "$HUNTLINE_BASE_IMAGE"
ca_args=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && ca_args=(--ca-bundle /etc/ssl/certs/ca-certificates.crt)
say "building analytics images on $HUNTLINE_BASE_IMAGE"
.venv/bin/huntline images build --base-image "$HUNTLINE_BASE_IMAGE" "${ca_args[@]}"

#!/usr/bin/env bash
# Build a local Python base image for the analytics Dockerfiles without a registry.
#
# Why: air-gapped hosts (and these build machines) cannot pull python:3.x-slim. debootstrap
# builds a minimal Debian root filesystem from the apt mirror the host already uses, and
# `docker import` turns it into an image. Pass the result to every analytics build as
# `--build-arg BASE_IMAGE=<name>` (huntline images build --base-image <name>).
#
# Usage: scripts/build_base_image.sh [IMAGE_NAME]   (default: huntline-base:bookworm)
set -euo pipefail

image="${1:-huntline-base:bookworm}"
suite="${HUNTLINE_BASE_SUITE:-bookworm}"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image $image already exists"
  exit 0
fi

command -v debootstrap >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# Use the mirror apt is already configured with, so proxies and snapshots carry over.
mirror="${HUNTLINE_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(grep -hoE '^URIs: *\S+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
fi
if [ -z "$mirror" ]; then
  mirror=$(grep -hoE '^deb +\S+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"

rootfs=$(mktemp -d /tmp/huntline-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap $suite from $mirror (about a minute)"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  "$suite" "$rootfs" "$mirror" >/tmp/huntline-debootstrap.log 2>&1 || {
  echo "debootstrap failed; see /tmp/huntline-debootstrap.log" >&2
  tail -20 /tmp/huntline-debootstrap.log >&2
  exit 1
}
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import --change 'CMD ["python3"]' - "$image" >/dev/null
echo "built base image $image"

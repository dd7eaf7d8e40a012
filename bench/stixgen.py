"""Synthetic STIX 2.0 bundles of any size and shape, for benchmarks and oracle tests.

::

    python bench/stixgen.py --observations 100000 --out /tmp/100k.json --seed 7 --match-fraction 0.1

Each observation is one of three kinds, drawn at random (seeded, so a seed gives the same bytes):

- **process** (60 %): an ``x-oca-event`` pointing at a process with a parent process, both with
  binaries (files with MD5/SHA-256 hashes in parent directories), a user and usually a host
  (``x-oca-asset``). Hosts make processes identifiable (pid + host); some processes carry a
  unique id in an extension and recur across observations; the rest are anonymous.
  A ``--match-fraction`` of them are ``powershell.exe`` with a ``-enc`` command line, and no other
  process is, so ``[process:name = 'powershell.exe']`` matches exactly that share.
- **network** (30 %): a connection with ``src_ref``/``dst_ref`` (IPv4, sometimes IPv6 or even a
  MAC address), ports and protocols, a process that opened it (``opened_connection_refs``), an
  address that ``resolves_to_refs`` a MAC, and a host with ``ip_refs``/``mac_refs``.
- **odd** (10 %): the awkward shapes: dangling and self references, a reference inside an
  extension, custom ``x-`` objects with nested dicts, SHA-256-only and name-only files, the same
  address twice in one observation, booleans, ``null``, unicode and ``/`` in lists.

The bundle is written observation by observation, so a million observations need no more memory
than one. Importable: tests call :func:`write_bundle` / :func:`observations` directly.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

MATCH_NAME = "powershell.exe"
MATCH_PATTERN = f"[process:name = '{MATCH_NAME}']"
_PROGRAMS = [
    ("cmd.exe", "C:\\Windows\\System32"), ("svchost.exe", "C:\\Windows\\System32"),
    ("explorer.exe", "C:\\Windows"), ("chrome.exe", "C:\\Program Files\\Google\\Chrome"),
    ("winword.exe", "C:\\Program Files\\Microsoft Office"), ("bash", "/usr/bin"),
    ("sshd", "/usr/sbin"), ("python3", "/usr/bin"), ("curl", "/usr/bin"), ("nginx", "/usr/sbin"),
]  # fmt: skip
_START = datetime(2024, 3, 1, tzinfo=UTC)


class Generator:
    """The pools (hosts, users, programs, addresses) and the seeded draw of observations."""

    def __init__(self, seed: int = 0, match_fraction: float = 0.0, hosts: int = 50) -> None:
        self.rng = random.Random(seed)
        self.match_fraction = match_fraction
        self.hosts = [f"host-{i:04d}" for i in range(hosts)]
        self.users = [f"user{i:03d}" for i in range(60)]
        self.matched = 0

    def observation(self, index: int) -> dict[str, Any]:
        rng = self.rng
        kind = rng.random()
        if kind < 0.6:
            objects = self._process_event()
        elif kind < 0.9:
            objects = self._network_event()
        else:
            objects = self._odd_event()
        first = _START + timedelta(milliseconds=index * 250 + rng.randrange(250))
        last = first + timedelta(seconds=rng.choice((0, 0, 0, 5, 60)))
        return {
            "type": "observed-data",
            "id": f"observed-data--{_uuid(rng)}",
            "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
            "created": _ts(first),
            "modified": _ts(first),
            "first_observed": _ts(first),
            "last_observed": _ts(last),
            "number_observed": rng.choice((1, 1, 1, 2, 5)),
            "objects": objects,
        }

    def _process_event(self) -> dict[str, Any]:
        rng = self.rng
        child, parent = self._program(), self._program(parent=True)
        match = rng.random() < self.match_fraction
        if match:
            self.matched += 1
            child = (MATCH_NAME, "C:\\Windows\\System32\\WindowsPowerShell\\v1.0")
        objects: dict[str, Any] = {
            "0": {"type": "x-oca-event", "action": "process_started", "code": 1,
                  "category": ["process"], "process_ref": "1", "host_ref": "7", "user_ref": "6"},
            "1": {"type": "process", "pid": rng.randrange(100, 65000), "name": child[0],
                  "command_line": self._command_line(child[0], match),
                  "created": _ts(_START), "binary_ref": "2", "parent_ref": "3",
                  "creator_user_ref": "6"},
            "2": self._file(*child, directory="4"),
            "3": {"type": "process", "pid": rng.randrange(2, 2000), "name": parent[0],
                  "binary_ref": "5"},
            "4": {"type": "directory", "path": child[1]},
            "5": self._file(*parent),
            "6": {"type": "user-account", "user_id": rng.choice(self.users),
                  "account_login": "login", "is_privileged": rng.random() < 0.1},
            "7": self._host(),
        }  # fmt: skip
        draw = rng.random()
        if draw < 0.25:  # a process seen many times: a unique id in an extension
            guid = f"{{{rng.randrange(500):08X}-0000-0000-0000-000000000000}}"
            objects["1"]["extensions"] = {"x-huntline-ext": {"process_guid": guid, "aslr": True}}
            objects["1"]["pid"] = int(hashlib.md5(guid.encode()).hexdigest()[:4], 16)
        elif draw < 0.35:  # no host: an anonymous process
            del objects["7"], objects["0"]["host_ref"]
        return objects

    def _network_event(self) -> dict[str, Any]:
        rng = self.rng
        v6 = rng.random() < 0.15
        dst = (
            {"type": "ipv6-addr", "value": f"2001:db8::{rng.randrange(1, 400):x}"}
            if v6
            else {"type": "ipv4-addr", "value": f"203.0.113.{rng.randrange(1, 255)}"}
        )
        objects: dict[str, Any] = {
            "0": {"type": "network-traffic", "src_ref": "1", "dst_ref": "2",
                  "src_port": rng.randrange(1024, 65535),
                  "dst_port": rng.choice((22, 80, 443, 3389)),
                  "protocols": ["ipv4" if not v6 else "ipv6", rng.choice(("tcp", "udp"))]},
            "1": {"type": "ipv4-addr", "value": f"10.0.{rng.randrange(4)}.{rng.randrange(1, 255)}",
                  "resolves_to_refs": ["3"]},
            "2": dst,
            "3": {"type": "mac-addr", "value": f"00:11:22:33:44:{rng.randrange(256):02x}"},
            "4": {"type": "process", "pid": rng.randrange(100, 65000), "name": self._program()[0],
                  "opened_connection_refs": ["0"]},
            "5": dict(self._host(), ip_refs=["1"], mac_refs=["3"]),
            "6": {"type": "x-oca-event", "action": "connection", "network_ref": "0",
                  "process_ref": "4", "host_ref": "5"},
        }  # fmt: skip
        if rng.random() < 0.05:  # an address reference to a MAC: a type the name does not promise
            objects["0"]["src_ref"] = "3"
        return objects

    def _odd_event(self) -> dict[str, Any]:
        rng = self.rng
        ip = f"192.0.2.{rng.randrange(1, 20)}"
        return {
            "0": {"type": "network-traffic", "src_ref": "1", "dst_ref": "2", "dst_port": 53,
                  "protocols": ["ipv4", "udp", "dns/extra"], "x_flag": rng.random() < 0.5},
            "1": {"type": "ipv4-addr", "value": ip},
            "2": {"type": "ipv4-addr", "value": ip},  # the same address twice in one observation
            "3": {"type": "file", "name": f"doc-{rng.randrange(30)}.pdf", "size": None,
                  "hashes": {"SHA-256": hashlib.sha256(ip.encode()).hexdigest()},
                  "extensions": {"x-huntline-scan": {"verdict": "clean", "sample_ref": "5",
                                                     "tags": ["ü", "a/b"]}}},
            "4": {"type": "file", "name": rng.choice(("a.txt", "b.txt")),
                  "parent_directory_ref": "9"},
            "5": {"type": "artifact", "mime_type": "text/plain",
                  "payload_bin": "aGVsbG8=" if rng.random() < 0.5 else "d29ybGQ="},
            "6": {"type": "x-ecs-file", "path": "/tmp/x", "owner": {"name": "root", "uid": 0},
                  "file_ref": "3", "parent_ref": "6"},
            "7": {"type": "process", "name": "orphan", "parent_ref": "7", "binary_ref": "4",
                  "pid": str(rng.randrange(10)) if rng.random() < 0.3 else rng.randrange(10)},
            "8": {"type": "software", "name": "agent", "version": f"1.{rng.randrange(3)}"},
        }  # fmt: skip

    def _program(self, parent: bool = False) -> tuple[str, str]:
        return self.rng.choice(_PROGRAMS[:4] if parent else _PROGRAMS)

    def _command_line(self, name: str, match: bool) -> str:
        if match:
            payload = hashlib.sha1(str(self.rng.random()).encode()).hexdigest()
            return f"{name} -nop -enc {payload}"
        return f"{name} --job {self.rng.randrange(1000)}"

    def _file(self, name: str, folder: str, directory: str | None = None) -> dict[str, Any]:
        digest = hashlib.sha256(f"{folder}/{name}".encode()).hexdigest()
        found: dict[str, Any] = {"type": "file", "name": name,
                                 "hashes": {"MD5": digest[:32], "SHA-256": digest}}  # fmt: skip
        if directory:
            found["parent_directory_ref"] = directory
        return found

    def _host(self) -> dict[str, Any]:
        host = self.rng.choice(self.hosts)
        return {
            "type": "x-oca-asset",
            "hostname": host,
            "host_id": f"id-{host}",
            "os_name": "Windows",
        }


def observations(
    count: int, seed: int = 0, match_fraction: float = 0.0
) -> Iterator[dict[str, Any]]:
    """``count`` generated observed-data dicts, reproducible from ``seed``."""
    generator = Generator(seed, match_fraction, hosts=max(5, count // 2000))
    for index in range(count):
        yield generator.observation(index)


def write_bundle(path: Path, count: int, seed: int = 0, match_fraction: float = 0.0) -> int:
    """Write a bundle of ``count`` observations to ``path``, streaming; returns the matches."""
    generator = Generator(seed, match_fraction, hosts=max(5, count // 2000))
    identity = {"type": "identity", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
                "name": "stixgen", "identity_class": "events"}  # fmt: skip
    with path.open("wb") as out:
        out.write(b'{"type":"bundle","id":"bundle--' + _uuid(generator.rng).encode())
        out.write(b'","spec_version":"2.0","objects":[' + orjson.dumps(identity))
        for index in range(count):
            out.write(b",\n" + orjson.dumps(generator.observation(index)))
        out.write(b"]}\n")
    return generator.matched


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--match-fraction", type=float, default=0.0)
    args = parser.parse_args(argv)
    matched = write_bundle(args.out, args.observations, args.seed, args.match_fraction)
    sys.stdout.write(
        f"{args.out}: {args.observations} observations, {matched} match {MATCH_PATTERN}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

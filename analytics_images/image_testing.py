"""Helpers for the analytics images' tests: load an image's analytics.py, sample data, and
the real local servers the enrichment images talk to in tests.

Images are folders, not a package, so each ``analytics.py`` is loaded under a unique module
name. The servers are real: an HTTP server answering in the SANS ISC API's format, and a DNS
server (dnslib) answering PTR queries from a table. They bind the address given, so a test can
serve the Docker bridge for a container as well as 127.0.0.1 for the python runner.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

IMAGES = Path(__file__).resolve().parent
REPO = IMAGES.parent


def load(name: str) -> ModuleType:
    """Import ``analytics_images/<name>/analytics.py`` as ``<name>_analytics``."""
    module_name = name.replace("-", "_") + "_analytics"
    spec = importlib.util.spec_from_file_location(module_name, IMAGES / name / "analytics.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shared_parquet(name: str) -> Path:
    """A sample from ``../shared/data/parquet`` (or ``$HUNTLINE_SHARED_DATA/parquet``)."""
    root = Path(os.environ.get("HUNTLINE_SHARED_DATA", REPO.parent / "shared" / "data"))
    return root / "parquet" / name


def dockerfile_labels(name: str) -> dict[str, str]:
    """The labels an image's Dockerfile sets (huntline's own parser, as validate uses it)."""
    from huntline.analytics.labels import dockerfile_labels as parse

    return parse(IMAGES / name / "Dockerfile")


def network_traffic(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Network traffic in Kestrel analytics form, with byte counts (the seed's example)."""
    rng = np.random.default_rng(seed)
    small = rng.random(rows) < 0.5
    return pd.DataFrame(
        {
            "id": [f"network-traffic--{i:06d}" for i in range(rows)],
            "type": "network-traffic",
            "src_ref.value": rng.choice(["10.0.0.5", "10.0.0.6", "192.168.1.7"], rows),
            "dst_ref.value": rng.choice(["8.8.8.8", "1.1.1.1", "10.0.0.9"], rows),
            "src_port": rng.integers(1024, 65535, rows),
            "dst_port": rng.choice([53, 443, 80], rows),
            "protocols": rng.choice(["tcp", "udp"], rows),
            "src_byte_count": np.where(small, rng.integers(50, 200, rows),
                                       rng.integers(5000, 9000, rows)),
            "dst_byte_count": np.where(small, rng.integers(100, 400, rows),
                                       rng.integers(90000, 120000, rows)),
            "first_observed": [f"2026-11-{1 + i % 3:02d}T{i % 24:02d}:{i % 60:02d}:00.000Z"
                               for i in range(rows)],
        }
    )  # fmt: skip


@dataclass
class SansServer:
    """A running fake of ``/api/ip/{ip}?json``: ``url`` is the base URL to pass."""

    url: str
    requests: list[str] = field(default_factory=list)


def sans_answer(
    ip: str,
    asname: str,
    country: str,
    attacks: int | None,
    feeds: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, object]:
    """One answer in the API's shape (fields the analytics reads, plus some it does not)."""
    info: dict[str, object] = {"number": ip, "count": attacks, "attacks": attacks,
                               "asname": asname, "ascountry": country, "as": 64500,
                               "network": f"{ip}/32", "comment": None}  # fmt: skip
    if feeds:
        info["threatfeeds"] = {
            name: {"firstseen": first, "lastseen": last} for name, (first, last) in feeds.items()
        }
    return {"ip": info}


@contextmanager
def sans_server(
    answers: Mapping[str, dict[str, object]], *, host: str = "127.0.0.1", throttle_first: int = 0
) -> Iterator[SansServer]:
    """Serve ``answers`` by IP; the first ``throttle_first`` requests get 429 Retry-After: 0."""
    server_state = SansServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.requests.append(self.path)
            if len(server_state.requests) <= throttle_first:
                self.send_response(429)
                self.send_header("Retry-After", "0")
                self.end_headers()
                return
            ip = self.path.removeprefix("/api/ip/").split("?")[0]
            body = json.dumps(answers.get(ip, {"ip": {"number": ip, "count": None}})).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    server_state.url = f"http://{host}:{server.server_address[1]}/api"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def dns_server(ptr: Mapping[str, str], *, host: str = "127.0.0.1") -> Iterator[str]:
    """A DNS server answering PTR for ``ptr`` (IP -> name), NXDOMAIN otherwise; yields IP:PORT."""
    from dnslib import PTR, QTYPE, RCODE, RR, DNSLabel
    from dnslib.server import BaseResolver, DNSLogger, DNSServer

    records = {DNSLabel(_reverse_name(ip)): name for ip, name in ptr.items()}

    class Resolver(BaseResolver):  # type: ignore[misc]
        def resolve(self, request, handler):  # type: ignore[no-untyped-def]
            reply = request.reply()
            name = records.get(request.q.qname)
            if request.q.qtype == QTYPE.PTR and name:
                reply.add_answer(RR(request.q.qname, QTYPE.PTR, rdata=PTR(name), ttl=60))
            else:
                reply.header.rcode = RCODE.NXDOMAIN
            return reply

    server = DNSServer(
        Resolver(),
        port=0,
        address=host,
        logger=DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data"),
    )
    server.start_thread()
    try:
        yield f"{host}:{server.server.server_address[1]}"
    finally:
        server.stop()


def _reverse_name(ip: str) -> str:
    import ipaddress

    return ipaddress.ip_address(ip).reverse_pointer + "."


# Three cities for the generated GeoIP database: network -> (city, country ISO, lat, lon).
GEO = {
    "93.184.216.0/24": ("Norwell", "US", 42.1508, -70.8228),
    "8.8.8.0/24": ("Mountain View", "US", 37.4056, -122.0775),
    "185.60.216.0/22": ("Dublin", "IE", 53.3498, -6.2603),
}


def write_mmdb(path: Path, networks: Mapping[str, tuple[str, str, float, float]] = GEO) -> Path:
    """A small GeoIP2-City-shaped MaxMind DB, written with mmdb-writer."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City",
                        languages=["en"], description="huntline test cities")  # fmt: skip
    for network, (city, iso, lat, lon) in networks.items():
        writer.insert_network(IPSet([network]), {
            "city": {"names": {"en": city}},
            "country": {"iso_code": iso, "names": {"en": iso}},
            "location": {"latitude": lat, "longitude": lon},
        })  # fmt: skip
    writer.to_db_file(str(path))
    return path

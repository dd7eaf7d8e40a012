#!/usr/bin/env python3
"""Reverse DNS for the IP addresses of a Kestrel variable.

Kestrel's ``domainnamelookup`` analytics, rebuilt without Perl, ``dig`` and ``whois``: a PTR
query per distinct address through dnspython, with

* bounded concurrency (``concurrency`` lookups at a time, so a big variable does not flood the
  resolver), a timeout per lookup, and a cache (each address is asked once per run);
* the resolver of the container (``/etc/resolv.conf``) or one named by ``nameserver``.

Columns added: ``x_domain_name`` for ``dst_ref.value`` (as the reference) or ``value``, and
``x_src_ref.value_domain_name`` for ``src_ref.value``. An address without a PTR record gets
null. It needs network access (the image label says so; the step sets ``network: true``).
"""

from __future__ import annotations

import html
import ipaddress
import os
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dns.exception
import dns.resolver
import dns.reversename
import pandas as pd

INPUT_PATH = Path("/data/input/0.parquet.gz")
OUTPUT_PATH = Path("/data/output/0.parquet.gz")
DISPLAY_PATH = Path("/data/display/ret.html")

PARAMETERS = {
    "nameserver": "resolver as IP or IP:PORT (default: the container's /etc/resolv.conf)",
    "columns": "IP columns to resolve (default: those of value, src_ref.value, dst_ref.value "
    "the input has)",
    "concurrency": "lookups at a time (default 8)",
    "timeout": "seconds per lookup (default 2)",
}
DEFAULT_COLUMNS = ("value", "src_ref.value", "dst_ref.value")


def target_column(column: str) -> str:
    """Where a column's names go: ``x_domain_name`` for the entity's own or destination IP."""
    return "x_domain_name" if column in {"value", "dst_ref.value"} else f"x_{column}_domain_name"


def make_resolver(nameserver: str | None, timeout: float) -> dns.resolver.Resolver:
    """A resolver for ``nameserver`` (``IP`` or ``IP:PORT``), or the system's."""
    if not nameserver:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        host, _, port = (
            nameserver.strip().rpartition(":")
            if nameserver.count(":") == 1
            else (nameserver.strip(), "", "")
        )
        resolver.nameservers = [host or nameserver.strip()]
        resolver.port = int(port) if port else 53
    resolver.lifetime = timeout
    resolver.timeout = timeout
    return resolver


def reverse(resolver: dns.resolver.Resolver, address: str) -> tuple[str | None, str]:
    """The PTR name of ``address`` (without the final dot) and the outcome."""
    try:
        answer = resolver.resolve(dns.reversename.from_address(address), "PTR")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None, "no PTR"
    except dns.exception.Timeout:
        return None, "timeout"
    except dns.exception.DNSException as error:
        return None, type(error).__name__
    return str(answer[0].target).rstrip("."), "resolved"


def _columns(frame: pd.DataFrame, wanted: str | None) -> list[str]:
    if wanted:
        columns = [c.strip() for c in wanted.split(",") if c.strip()]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"domain_lookup: column(s) {', '.join(missing)} not in the input")
        return columns
    found = [c for c in DEFAULT_COLUMNS if c in frame.columns]
    if not found:
        raise KeyError(
            "domain_lookup: the input has none of value, src_ref.value, dst_ref.value; "
            "name the IP columns with `columns`"
        )
    return found


def _is_ip(value: object) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def analytics(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Add the domain name columns; return the variable and a summary display."""
    env = os.environ
    columns = _columns(frame, env.get("columns"))
    resolver = make_resolver(env.get("nameserver"), float(env.get("timeout", "2")))
    addresses = sorted({str(v) for c in columns for v in frame[c].dropna().unique() if _is_ip(v)})
    with ThreadPoolExecutor(max_workers=max(1, int(env.get("concurrency", "8")))) as pool:
        answers = dict(
            zip(addresses, pool.map(lambda a: reverse(resolver, a), addresses), strict=True)
        )
    names = {address: name for address, (name, _) in answers.items()}
    outcomes = Counter(outcome for _, outcome in answers.values())
    result = frame.copy()
    for column in columns:
        result[target_column(column)] = frame[column].map(names).astype("string")
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    page = (
        f"<h3>domain_lookup</h3><p>{len(addresses)} distinct addresses: "
        f"{html.escape(summary or 'none')}</p>"
    )
    return result, page


def main() -> int:
    """Run under the Kestrel analytics contract."""
    result, page = analytics(pd.read_parquet(INPUT_PATH))
    result.to_parquet(OUTPUT_PATH, compression="gzip", compression_level=1, index=False)
    DISPLAY_PATH.write_text(page, encoding="utf-8")
    print(f"domain_lookup: {len(result)} rows; {page}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

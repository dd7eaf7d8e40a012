#!/usr/bin/env python3
"""Enrich IP addresses with the SANS Internet Storm Center IP API.

Kestrel's ``sans_ip_enrich`` analytics, rebuilt: the same parameter (``SANSCRED``, the contact
e-mail SANS asks for, sent as the User-Agent) and the same columns
(``x_<column>_attacks``, ``_ascountry``, ``_asname``, ``_threatfeeds``, ``_firstseen``,
``_lastseen``, e.g. ``x_src_ref.value_asname``), with what the original lacked:

* the API's base URL is a parameter, so a mirror, a proxy or a test server can stand in;
* each distinct public address is asked once (a cache, optionally kept in a JSON file);
  private, loopback and reserved addresses are never sent out;
* HTTP 429 is honoured: wait ``Retry-After`` (or back off exponentially) and retry;
* an unreachable API fails the step with a clear message (``on_error=fail``, the default) or,
  with ``on_error=degrade``, leaves the columns empty, sets ``x_ip_enrich_status`` on every
  row and says so in the display: never silently.
"""

from __future__ import annotations

import html
import ipaddress
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

INPUT_PATH = Path("/data/input/0.parquet.gz")
OUTPUT_PATH = Path("/data/output/0.parquet.gz")
DISPLAY_PATH = Path("/data/display/ret.html")

PARAMETERS = {
    "SANSCRED": "your contact e-mail, sent as the User-Agent as SANS asks (required)",
    "base_url": "the API root (default https://isc.sans.edu/api)",
    "columns": "IP columns to enrich (default: those of src_ref.value, dst_ref.value, value "
    "the input has)",
    "on_error": "fail (default) or degrade when the API cannot be reached",
    "timeout": "seconds per request (default 10)",
    "max_retries": "retries after HTTP 429 or a network error (default 4)",
    "max_wait": "longest wait between retries, in seconds (default 60)",
    "cache_file": "a JSON file to read answers from and write them back to (default: none)",
}
DEFAULT_BASE_URL = "https://isc.sans.edu/api"
DEFAULT_COLUMNS = ("src_ref.value", "dst_ref.value", "value")
FIELDS = ("attacks", "ascountry", "asname", "threatfeeds", "firstseen", "lastseen")
STATUS = "x_ip_enrich_status"


class EnrichmentUnavailable(RuntimeError):
    """The API could not answer (network error, HTTP error, or 429 beyond the retries)."""


def is_public(value: object) -> bool:
    """Only global unicast addresses are looked up; the rest would leak internal names."""
    try:
        return ipaddress.ip_address(str(value)).is_global
    except ValueError:
        return False


class SansClient:
    """Ask ``{base_url}/ip/{ip}?json``, once per address, honouring 429 with backoff."""

    def __init__(self, base_url: str, contact: str, *, timeout: float = 10.0,
                 max_retries: int = 4, max_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.headers = {
            "User-Agent": f"huntline-ip_enrich ({contact})",
            "Accept": "application/json",
        }
        self.timeout, self.max_retries, self.max_wait, self.sleep = (
            timeout,
            max_retries,
            max_wait,
            sleep,
        )
        self.cache: dict[str, dict[str, object]] = {}
        self.requests = self.hits = self.waits = 0

    def lookup(self, ip: str) -> dict[str, object]:
        if ip in self.cache:
            self.hits += 1
            return self.cache[ip]
        url = f"{self.base_url}/ip/{ip}?json"
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(url, headers=self.headers), timeout=self.timeout
                ) as response:
                    answer = json.loads(response.read().decode("utf-8"))
                break
            except urllib.error.HTTPError as error:
                if error.code != 429 or attempt == self.max_retries:
                    raise EnrichmentUnavailable(
                        f"{url}: HTTP {error.code} {error.reason}"
                    ) from error
                self._wait(attempt, error.headers.get("Retry-After"))
            except (urllib.error.URLError, OSError, ValueError) as error:
                if attempt == self.max_retries:
                    raise EnrichmentUnavailable(f"{url}: {error}") from error
                self._wait(attempt, None)
        ip_info = answer.get("ip") if isinstance(answer, dict) else None
        self.cache[ip] = ip_info if isinstance(ip_info, dict) else {}
        return self.cache[ip]

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        try:
            delay = float(retry_after) if retry_after else 2.0**attempt
        except ValueError:
            delay = 2.0**attempt
        self.waits += 1
        self.sleep(min(max(delay, 0.0), self.max_wait))


def fields_of(info: dict[str, object]) -> dict[str, object]:
    """The reference's six fields from one API answer (feeds joined, their date range)."""
    feeds = info.get("threatfeeds") if isinstance(info.get("threatfeeds"), dict) else {}
    assert isinstance(feeds, dict)
    first = [
        str(f.get("firstseen"))
        for f in feeds.values()
        if isinstance(f, dict) and f.get("firstseen")
    ]
    last = [
        str(f.get("lastseen")) for f in feeds.values() if isinstance(f, dict) and f.get("lastseen")
    ]
    return {
        "attacks": int(info.get("attacks") or 0) if info else None,  # type: ignore[arg-type]
        "ascountry": info.get("ascountry"),
        "asname": info.get("asname"),
        "threatfeeds": ",".join(sorted(feeds)) or None,
        "firstseen": min(first) if first else None,
        "lastseen": max(last) if last else None,
    }


def enrich(
    frame: pd.DataFrame, columns: Iterable[str], lookup: Callable[[str], dict]
) -> pd.DataFrame:
    """Add ``x_<column>_<field>`` for every column, asking ``lookup`` per distinct address."""
    result = frame.copy()
    for column in columns:
        answers = {
            ip: fields_of(lookup(ip)) for ip in frame[column].dropna().unique() if is_public(ip)
        }
        table = pd.DataFrame.from_dict(answers, orient="index", columns=list(FIELDS))
        for field in FIELDS:
            values = frame[column].map(table[field]) if answers else pd.Series(None, frame.index)
            result[f"x_{column}_{field}"] = values.astype(
                "Int64" if field == "attacks" else "string"
            )
    return result


def _columns(frame: pd.DataFrame, wanted: str | None) -> list[str]:
    if wanted:
        columns = [c.strip() for c in wanted.split(",") if c.strip()]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"ip_enrich: column(s) {', '.join(missing)} not in the input")
        return columns
    found = [c for c in DEFAULT_COLUMNS if c in frame.columns]
    if not found:
        raise KeyError(
            "ip_enrich: the input has none of src_ref.value, dst_ref.value, value; "
            "name the IP columns with `columns`"
        )
    return found


def analytics(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Enrich ``frame``; parameters from the environment. Returns it and a summary display."""
    env = os.environ
    contact = env.get("SANSCRED", "").strip()
    if not contact:
        raise ValueError("ip_enrich: SANSCRED (your contact e-mail for the SANS API) is required")
    on_error = env.get("on_error", "fail").strip().lower()
    if on_error not in {"fail", "degrade"}:
        raise ValueError(f"ip_enrich: on_error={on_error!r}; use fail or degrade")
    columns = _columns(frame, env.get("columns"))
    client = SansClient(env.get("base_url") or DEFAULT_BASE_URL, contact,
                        timeout=float(env.get("timeout", "10")),
                        max_retries=int(env.get("max_retries", "4")),
                        max_wait=float(env.get("max_wait", "60")))  # fmt: skip
    cache_file = Path(env["cache_file"]) if env.get("cache_file") else None
    if cache_file and cache_file.is_file():
        client.cache.update(json.loads(cache_file.read_text(encoding="utf-8")))
    try:
        result = enrich(frame, columns, client.lookup)
        status = "ok"
    except EnrichmentUnavailable as error:
        if on_error == "fail":
            raise EnrichmentUnavailable(
                f"ip_enrich: the SANS API is unreachable ({error}); set on_error=degrade to "
                "keep the variable without enrichment"
            ) from error
        print(f"ip_enrich: WARNING degraded, no enrichment: {error}", file=sys.stderr)
        result = enrich(frame, columns, lambda ip: {})
        status = f"degraded: {error}"
    result[STATUS] = status
    if cache_file:
        cache_file.write_text(json.dumps(client.cache), encoding="utf-8")
    summary = (
        f"<h3>ip_enrich</h3><p>status: <b>{html.escape(status)}</b></p>"
        f"<p>{len(client.cache)} addresses known, {client.requests} requests, "
        f"{client.hits} cache hits, {client.waits} waits after 429 or errors; columns: "
        f"{html.escape(', '.join(columns))}</p>"
    )
    return result, summary


def main() -> int:
    """Run under the Kestrel analytics contract."""
    result, summary = analytics(pd.read_parquet(INPUT_PATH))
    result.to_parquet(OUTPUT_PATH, compression="gzip", compression_level=1, index=False)
    DISPLAY_PATH.write_text(summary, encoding="utf-8")
    print(f"ip_enrich: {len(result)} rows, {result[STATUS].iloc[0] if len(result) else 'ok'}",
          file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

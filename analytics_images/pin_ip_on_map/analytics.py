#!/usr/bin/env python3
"""Pin the IP addresses of a Kestrel variable on a map (GeoIP2 / MaxMind DB + folium).

Kestrel's ``pinip`` analytics, rebuilt. The reference needed ``GeoLite2-City.mmdb`` copied
into the image; here the user supplies any GeoIP2/GeoLite2 City (or Country) ``.mmdb`` by the
``mmdb`` parameter, and huntline's Docker runner mounts that one file read-only (the image
label ``huntline.mounts=mmdb`` says so). MaxMind's licence forbids shipping the database in
an image anyway.

The display is a folium map with one circle marker per location, sized by how many rows
mention it; its tooltip gives the place and the count, its popup each address and its count.
Below it, the same as a table, which reads without JavaScript or map tiles. The variable is
not changed.
"""

from __future__ import annotations

import html
import ipaddress
import math
import os
import sys
from pathlib import Path

import folium
import maxminddb
import pandas as pd

INPUT_PATH = Path("/data/input/0.parquet.gz")
DISPLAY_PATH = Path("/data/display/ret.html")

PARAMETERS = {
    "mmdb": "path to a GeoIP2/GeoLite2 City or Country .mmdb on the host (required; mounted "
    "read-only into the container)",
    "columns": "IP columns to pin (default: those of value, src_ref.value, dst_ref.value "
    "the input has)",
}
DEFAULT_COLUMNS = ("value", "src_ref.value", "dst_ref.value")


def _columns(frame: pd.DataFrame, wanted: str | None) -> list[str]:
    if wanted:
        columns = [c.strip() for c in wanted.split(",") if c.strip()]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"pin_ip_on_map: column(s) {', '.join(missing)} not in the input")
        return columns
    found = [c for c in DEFAULT_COLUMNS if c in frame.columns]
    if not found:
        raise KeyError(
            "pin_ip_on_map: the input has none of value, src_ref.value, dst_ref.value; "
            "name the IP columns with `columns`"
        )
    return found


def open_mmdb(path: str | None) -> maxminddb.Reader:
    """Open the database, with an error that says what to do when it is missing or bad."""
    if not path:
        raise ValueError(
            "pin_ip_on_map: parameter mmdb is required: the path of a GeoIP2/GeoLite2 City "
            ".mmdb (MaxMind's licence does not allow shipping one in the image)"
        )
    if not Path(path).is_file():
        raise FileNotFoundError(f"pin_ip_on_map: the GeoIP database {path} does not exist")
    try:
        return maxminddb.open_database(path)
    except (maxminddb.InvalidDatabaseError, ValueError) as error:
        raise ValueError(f"pin_ip_on_map: {path} is not a MaxMind DB: {error}") from error


def _name(record: dict, key: str) -> str:
    part = record.get(key) or {}
    return str((part.get("names") or {}).get("en") or part.get("iso_code") or "")


def locate(reader: maxminddb.Reader, counts: pd.Series) -> pd.DataFrame:
    """One row per address found in the database: ip, count, lat, lon, city, country."""
    rows = []
    for ip, count in counts.items():
        try:
            ipaddress.ip_address(str(ip))
            record = reader.get(str(ip))
        except ValueError:
            continue
        location = (record or {}).get("location") if isinstance(record, dict) else None
        if not location or location.get("latitude") is None:
            continue
        rows.append({"ip": str(ip), "count": int(count), "lat": float(location["latitude"]),
                     "lon": float(location["longitude"]), "city": _name(record, "city"),
                     "country": _name(record, "country")})  # fmt: skip
    return pd.DataFrame(rows, columns=["ip", "count", "lat", "lon", "city", "country"])


def render(found: pd.DataFrame, total: int) -> str:
    """The folium map (a marker per location) followed by a plain table."""
    if found.empty:
        return f"<p>pin_ip_on_map: none of the {total} addresses is in the GeoIP database</p>"
    world = folium.Map(
        location=[found["lat"].mean(), found["lon"].mean()], zoom_start=2, height=520
    )
    for (lat, lon), group in found.groupby(["lat", "lon"], sort=False):
        where = ", ".join(x for x in (group["city"].iloc[0], group["country"].iloc[0]) if x)
        lines = "<br>".join(
            f"{html.escape(ip)}: {n} row(s)"
            for ip, n in zip(group["ip"], group["count"], strict=True)
        )
        rows = int(group["count"].sum())
        folium.CircleMarker(  # drawn as SVG: no icon images to fetch, size shows the count
            [lat, lon],
            radius=6 + 4 * math.log2(rows),
            color="#b2182b",
            fill=True,
            fill_opacity=0.6,
            tooltip=f"{html.escape(where)} ({rows})",
            # lazy: folium builds popups with jQuery; built on click, an offline viewer (no
            # CDN) still gets every marker
            popup=folium.Popup(f"<b>{html.escape(where)}</b><br>{lines}", max_width=300, lazy=True),
        ).add_to(world)
    world.fit_bounds([[found["lat"].min(), found["lon"].min()],
                      [found["lat"].max(), found["lon"].max()]])  # fmt: skip
    table = found.sort_values("count", ascending=False).to_html(index=False, escape=True)
    page = world.get_root().render()
    summary = f"<p>{len(found)} of {total} addresses located</p>{table}"
    return page.replace("</body>", f"{summary}</body>", 1)


def analytics(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Return the variable unchanged and the map display."""
    env = os.environ  # Kestrel's parameter names are lower case
    columns = _columns(frame, env.get("columns"))
    with open_mmdb(env.get("mmdb")) as reader:
        counts = pd.concat([frame[c] for c in columns]).dropna().astype(str).value_counts()
        found = locate(reader, counts)
    return frame, render(found, len(counts))


def main() -> int:
    """Run under the Kestrel analytics contract: a display, no output."""
    _, page = analytics(pd.read_parquet(INPUT_PATH))
    DISPLAY_PATH.write_text(page, encoding="utf-8")
    print(f"pin_ip_on_map: wrote {DISPLAY_PATH} ({len(page)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Flag likely data exfiltration in network traffic, with the reason in words.

Kestrel's ``dataexfiltration`` analytics kept its output names, ``x_possible_exfil_op`` (the
direction, e.g. ``Internal->External``) and ``x_exfil_op_probability``, but replaced its
per-hour timing model, which had to be trained on one host and baked into the image. Here the
baseline comes from the variable itself:

* the **host baseline**: how much this internal host usually sends out per flow;
* the **hour baseline**: how much all internal hosts send out per flow in that hour of day.

A flow's outbound bytes become two robust z-scores (median and MAD) against the baselines. The
smaller of the two is what counts, so a flow is only suspicious when it is large for its host
*and* for the time of day; the probability is a logistic of that z-score around the threshold.
``x_exfil_reason`` says which numbers made the call, so an analyst can check it.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

INPUT_PATH = Path("/data/input/0.parquet.gz")
OUTPUT_PATH = Path("/data/output/0.parquet.gz")

PARAMETERS = {
    "internal_networks": "comma-separated CIDRs of the organisation (default: RFC 1918, "
    "loopback, link-local and unique-local ranges)",
    "sensitive_networks": "CIDRs of sensitive data sources; their flows out are labelled "
    "Sensitive->External (default: none)",
    "z": "how many robust standard deviations above both baselines is suspicious (default 3)",
    "min_bytes": "flows sending less than this are never suspicious (default 1048576)",
}
DEFAULT_INTERNAL = (
    "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,169.254.0.0/16,fc00::/7,fe80::/10,::1/128"
)
OP, PROBABILITY, REASON = "x_possible_exfil_op", "x_exfil_op_probability", "x_exfil_reason"
MAD_SCALE = 1.4826  # MAD of a normal distribution, as a standard deviation


def _networks(text: str | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item.strip(), strict=False) for item in (text or "").split(",")
            if item.strip()]  # fmt: skip


def classify(values: pd.Series, internal: list, sensitive: list) -> pd.Series:
    """``Sensitive``, ``Internal``, ``External`` or ``Unknown`` (unparsable) per address."""
    labels: dict[str, str] = {}
    for value in values.dropna().unique():
        try:
            address = ipaddress.ip_address(str(value))
        except ValueError:
            labels[value] = "Unknown"
            continue
        if any(address in net for net in sensitive):
            labels[value] = "Sensitive"
        elif any(address in net for net in internal):
            labels[value] = "Internal"
        else:
            labels[value] = "External"
    return values.map(labels).fillna("Unknown")


def robust_z(values: pd.Series, groups: pd.Series) -> tuple[pd.Series, pd.Series]:
    """z-scores of ``values`` against their group's median and MAD; also the medians."""
    median = values.groupby(groups).transform("median")
    mad = (values - median).abs().groupby(groups).transform("median") * MAD_SCALE
    # A group whose flows are all alike has MAD 0: fall back to 10 % of its median (or 1 byte).
    spread = mad.where(mad > 0, np.maximum(median * 0.1, 1.0))
    return (values - median) / spread, median


def analytics(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the three exfiltration columns to a network-traffic variable."""
    needed = ["src_ref.value", "dst_ref.value", "src_byte_count"]
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise KeyError(
            f"exfil_detect: the input lacks {', '.join(missing)}; it needs network-traffic "
            f"with {', '.join(needed)} (and first_observed for the hour baseline)"
        )
    env = os.environ
    internal = _networks(env.get("internal_networks") or DEFAULT_INTERNAL)
    sensitive = _networks(env.get("sensitive_networks"))
    threshold = float(env.get("z", "3"))
    min_bytes = float(env.get("min_bytes", str(1 << 20)))
    result = frame.copy()
    src = classify(frame["src_ref.value"], internal, sensitive)
    dst = classify(frame["dst_ref.value"], internal, sensitive)
    result[OP] = (src + "->" + dst).astype("string")
    inside = src.isin(["Internal", "Sensitive"])
    outbound = inside & (dst == "External")
    sent = pd.to_numeric(frame["src_byte_count"], errors="coerce").fillna(0).astype("float64")
    probability = pd.Series(0.0, index=frame.index)
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    if outbound.any():
        out = sent[outbound]
        host_z, host_median = robust_z(out, frame.loc[outbound, "src_ref.value"])
        if "first_observed" in frame.columns:
            seen = frame.loc[outbound, "first_observed"]
            hours = pd.to_datetime(seen, utc=True, errors="coerce", format="ISO8601").dt.hour
            hours = hours.fillna(-1)
            hour_z, hour_median = robust_z(out, hours)
        else:
            hours, hour_z, hour_median = pd.Series(-1, index=out.index), host_z, host_median
        z = np.minimum(host_z, hour_z)
        p = 1.0 / (1.0 + np.exp(-(z - threshold)))
        p = p.where(out >= min_bytes, np.minimum(p, 0.1))
        probability[outbound] = p.round(4)
        reason[outbound] = (
            out.map("{:,.0f} bytes out".format)
            + ", host median "
            + host_median.map("{:,.0f}".format)
            + " (z "
            + host_z.round(1).astype(str)
            + ")"
            + ", hour "
            + hours.astype(int).astype(str).replace("-1", "?")
            + " median "
            + hour_median.map("{:,.0f}".format)
            + " (z "
            + hour_z.round(1).astype(str)
            + ")"
            + np.where(out < min_bytes, f", below min_bytes {min_bytes:,.0f}", "")
        )
    reason[~outbound] = "not outbound from an internal address"
    result[PROBABILITY] = probability.astype("float64")
    result[REASON] = reason
    return result


def main() -> int:
    """Run under the Kestrel analytics contract."""
    result = analytics(pd.read_parquet(INPUT_PATH))
    result.to_parquet(OUTPUT_PATH, compression="gzip", compression_level=1, index=False)
    flagged = int((result[PROBABILITY] >= 0.5).sum())
    print(f"exfil_detect: {len(result)} flows, {flagged} likely exfiltration", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

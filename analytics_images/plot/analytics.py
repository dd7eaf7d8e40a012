#!/usr/bin/env python3
"""Plot attributes of a Kestrel variable: bar, histogram, timeline or scatter, as inline SVG.

Kestrel's ``attrib-plot`` analytics, rebuilt with its parameter names (``XPARAM``, ``YPARAM``,
``PLOTTYPE``). The display is one self-contained HTML page with the SVG inline, so it renders
from object storage or a Prefect artifact without a server. The variable is not changed.

Why SVG: it is text (diffable, small for these plots) and scales in any browser.
"""

from __future__ import annotations

import html
import io
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("svg")  # no display, no GUI toolkit
import matplotlib.pyplot as plt
import pandas as pd

INPUT_PATH = Path("/data/input/0.parquet.gz")
DISPLAY_PATH = Path("/data/display/ret.html")

PARAMETERS = {
    "XPARAM": "the attribute on the x axis (timeline: a timestamp, default first_observed)",
    "YPARAM": "optional numeric attribute: summed per bar / interval, or the scatter's y",
    "PLOTTYPE": "bar, histogram, timeline or scatter (default: chosen from the types)",
    "title": "the plot title (default: derived from the attributes)",
    "bins": "histogram bins (default 30)",
    "top": "bar: the N most frequent values, the rest as (other) (default 20)",
    "interval": "timeline: a pandas frequency such as 1min, 1h, 1D (default: about 40 bars)",
}
PLOT_TYPES = ("bar", "histogram", "timeline", "scatter")


def _column(frame: pd.DataFrame, name: str | None, parameter: str) -> pd.Series | None:
    if not name:
        return None
    if name not in frame.columns:
        raise KeyError(
            f"plot: {parameter}={name!r} is not a column of the input; it has "
            f"{', '.join(map(str, frame.columns))}"
        )
    return frame[name]


def as_time(series: pd.Series) -> pd.Series | None:
    """The series as UTC timestamps when every value parses as one, else None."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.to_datetime(series, utc=True)
    if pd.api.types.is_numeric_dtype(series) or series.dropna().empty:
        return None
    parsed = pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")
    return parsed if parsed.notna().sum() == series.notna().sum() else None


def choose(x: pd.Series, y: pd.Series | None) -> str:
    """The plot type for the attributes' types when PLOTTYPE is not given."""
    if as_time(x) is not None:
        return "timeline"
    numeric_x = pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)
    if numeric_x and y is not None and pd.api.types.is_numeric_dtype(y):
        return "scatter"
    return "histogram" if numeric_x else "bar"


def _numeric(series: pd.Series | None, what: str) -> pd.Series:
    if series is None or not pd.api.types.is_numeric_dtype(series):
        raise ValueError(f"plot: {what} needs a numeric attribute")
    return series.astype("float64")


def draw(kind: str, x: pd.Series, y: pd.Series | None, env: os._Environ[str] | dict[str, str]):
    """Draw one plot on a new figure and return it."""
    figure, axes = plt.subplots(figsize=(9, 4.5))
    if kind == "bar":
        top = int(env.get("top", "20"))
        labels = x.astype("string").fillna("(null)")
        totals = (
            labels.value_counts() if y is None else _numeric(y, "YPARAM").groupby(labels).sum()
        ).sort_values(ascending=False)
        if len(totals) > top:
            totals = pd.concat([totals[:top], pd.Series({"(other)": totals[top:].sum()})])
        axes.bar([str(label) for label in totals.index], totals.to_numpy())
        axes.tick_params(axis="x", labelrotation=45)
        axes.set_ylabel("count" if y is None else f"sum of {y.name}")
    elif kind == "histogram":
        axes.hist(_numeric(x, "a histogram").dropna(), bins=int(env.get("bins", "30")))
        axes.set_ylabel("count")
    elif kind == "timeline":
        times = as_time(x)
        if times is None:
            raise ValueError(f"plot: a timeline needs timestamps in {x.name}")
        span = (times.max() - times.min()) or pd.Timedelta(seconds=1)
        interval = env.get("interval") or pd.tseries.frequencies.to_offset(
            pd.Timedelta(seconds=max(1, round(span.total_seconds() / 40)))
        )
        values = pd.Series(1.0 if y is None else _numeric(y, "YPARAM").to_numpy(), index=times)
        series = values.sort_index().resample(interval).sum()
        axes.bar(series.index.tz_convert(None), series.to_numpy(), width=pd.Timedelta(interval))
        axes.set_ylabel("count" if y is None else f"sum of {y.name}")
        figure.autofmt_xdate()
    else:  # scatter
        axes.scatter(_numeric(x, "a scatter"), _numeric(y, "a scatter's YPARAM"), s=12, alpha=0.7)
        axes.set_ylabel(str(y.name) if y is not None else "")
    axes.set_xlabel(str(x.name))
    figure.tight_layout()
    return figure


def render(frame: pd.DataFrame, env: os._Environ[str] | dict[str, str]) -> str:
    """The display page for ``frame`` and the parameters in ``env``."""
    x = _column(frame, env.get("XPARAM") or None, "XPARAM")
    if x is None:
        x = _column(frame, "first_observed", "XPARAM (default first_observed)")
    assert x is not None
    y = _column(frame, env.get("YPARAM") or None, "YPARAM")
    kind = (env.get("PLOTTYPE") or choose(x, y)).strip().lower()
    if kind not in PLOT_TYPES:
        raise ValueError(f"plot: PLOTTYPE={kind!r} unknown; use {', '.join(PLOT_TYPES)}")
    figure = draw(kind, x, y, env)
    title = env.get("title") or f"{kind} of {x.name}" + (f" and {y.name}" if y is not None else "")
    figure.suptitle(title)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # inline: drop the XML prolog and doctype
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body>\n<p>{len(frame)} rows</p>\n{svg}\n</body></html>\n"
    )


def analytics(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Return the variable unchanged and the plot as an HTML display."""
    return frame, render(frame, os.environ)


def main() -> int:
    """Run under the Kestrel analytics contract: a display, no output (the variable stays)."""
    _, page = analytics(pd.read_parquet(INPUT_PATH))
    DISPLAY_PATH.write_text(page, encoding="utf-8")
    print(f"plot: wrote {DISPLAY_PATH} ({len(page)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

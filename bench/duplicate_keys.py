"""What finding repeated JSON keys in bundles costs (issue 22 item 4, ``fetch.sources.json_keys``).

::

    PYTHONPATH=flows python bench/duplicate_keys.py --observations 100000 --repeat 3

On one stixgen bundle (seed 1), the best of ``--repeat`` runs in CPU seconds, without the check
("before": the depth scanner of commit ``--before``, no colons counted or compared) and with it,
side by side:

- **streamed parse**: ``stream_observed_data`` over the whole file, chunks of 1,000;
- **streamed ``file://`` fetch**: ``BundleSource.pages`` of stixgen's match pattern (parse in a
  worker thread, window and match), what a hunt's ``get`` runs;
- **whole-file read**: ``read_observed_data`` (the path of patterns that bind several
  observations);
- **naming them**: the same bundle with one key repeated in one observation, streamed (the
  cheap check fires, and the file is read again event by event to name the key).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import stixgen  # noqa: E402


def best(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return min(times)


@contextmanager
def unchecked(ref: str) -> Iterator[None]:
    """The fetch as it was at ``ref`` (before the check): that commit's depth scanner, which
    counts no colons, and nothing compared."""
    from huntline.fetch.sources import bundle, json_keys

    source = subprocess.run(
        ["git", "-C", str(HERE), "show", f"{ref}:flows/huntline/fetch/sources/json_depth.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    old = types.ModuleType("json_depth_before")
    exec(compile(source, "json_depth_before", "exec"), old.__dict__)
    old.DepthLimited.item_colons = 0
    saved = bundle.DepthLimited, json_keys.value_colons, json_keys.text_colons
    bundle.DepthLimited = old.DepthLimited  # type: ignore[misc]
    json_keys.value_colons = lambda value: 0  # type: ignore[assignment]
    json_keys.text_colons = lambda text: 0  # type: ignore[assignment]
    try:
        yield
    finally:
        bundle.DepthLimited, json_keys.value_colons, json_keys.text_colons = saved  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", default="6e4195e", help="the commit before the check")
    args = parser.parse_args()

    from huntline.fetch import BundleSource, Window, tally
    from huntline.fetch.sources.bundle import read_observed_data, stream_observed_data

    span = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bundle.json"
        stixgen.write_bundle(path, args.observations, seed=1, match_fraction=0.1)
        print(f"bundle: {args.observations:,} observations, {path.stat().st_size / 2**20:.1f} MiB")

        def streamed() -> None:
            for _ in stream_observed_data(path, 1000):
                pass

        async def pages() -> None:
            async for _ in BundleSource(path).pages(stixgen.MATCH_PATTERN, span):
                pass

        runs = {
            "streamed parse": streamed,
            "streamed file:// fetch": lambda: asyncio.run(pages()),
            "whole-file read": lambda: read_observed_data(path),
        }
        for name, run in runs.items():
            with unchecked(args.before):
                before = best(args.repeat, run)
            after = best(args.repeat, run)
            print(
                f"{name:24} before {before:6.2f} s CPU, after {after:6.2f} s "
                f"(+{after / before - 1:.1%})"
            )

        text = path.read_bytes()
        marker = b'"objects":{"0":{'
        where = text.index(marker) + len(marker)
        path.write_bytes(text[:where] + b'"x_dup":1,"x_dup":2,' + text[where:])
        with tally.tallied() as counted:
            named = best(1, streamed)
        print(f"{'one key repeated, named':24} {named:6.2f} s CPU: {counted.notes[0]}")


if __name__ == "__main__":
    main()

"""What the bounds on hostile input cost, and how fast they refuse (issue 22 items 2, 6, 11).

::

    PYTHONPATH=flows python bench/hostile_inputs.py --observations 50000

- **Streamed bundle parse with and without the depth bound**: ``ijson.items`` over a stixgen
  bundle (seed 1), alone and reading through ``fetch.sources.json_depth.DepthLimited``; the
  best of ``--repeat`` runs, CPU seconds.
- **A whole ``file://`` fetch** (``BundleSource.pages`` of stixgen's match pattern, streamed),
  with the bound and with it replaced by the bare file.
- **Refusals**: CPU seconds until a 10 x 9 YAML alias bomb, a 20,000-step book and a bundle value
  nested 100,000 deep are refused.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import stixgen  # noqa: E402


def best(repeat: int, run: object) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()  # type: ignore[operator]
        times.append(time.process_time() - started)
    return min(times)


def refusal(run: object) -> float:
    from huntline.errors import HuntlineError

    started = time.process_time()
    try:
        run()  # type: ignore[operator]
    except HuntlineError:
        return time.process_time() - started
    raise SystemExit("not refused")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import ijson

    from huntline.book import load_book
    from huntline.errors import BookError
    from huntline.fetch import BundleSource, Window
    from huntline.fetch.sources.json_depth import DepthLimited
    from huntline.yamlfile import parse_yaml

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        path = folder / "bundle.json"
        stixgen.write_bundle(path, args.observations, seed=1)
        size = path.stat().st_size / 2**20

        def plain() -> None:
            with path.open("rb") as handle:
                for _ in ijson.items(handle, "objects.item", use_float=True):
                    pass

        def bounded() -> None:
            with path.open("rb") as handle:
                for _ in ijson.items(DepthLimited(handle), "objects.item", use_float=True):
                    pass

        alone, through = best(args.repeat, plain), best(args.repeat, bounded)
        print(f"bundle: {args.observations:,} observations, {size:.1f} MiB")
        print(f"ijson.items alone          {alone:6.2f} s CPU")
        print(f"through DepthLimited       {through:6.2f} s CPU (+{through / alone - 1:.0%})")

        from huntline.fetch.sources import bundle as bundle_module

        span = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

        async def pages() -> None:
            async for _ in BundleSource(path).pages(stixgen.MATCH_PATTERN, span):
                pass

        bound = best(args.repeat, lambda: asyncio.run(pages()))
        bundle_module.DepthLimited = lambda handle: handle  # type: ignore[assignment,misc]
        unbound = best(args.repeat, lambda: asyncio.run(pages()))
        bundle_module.DepthLimited = DepthLimited  # type: ignore[misc]
        print(f"file:// fetch, unbounded   {unbound:6.2f} s CPU")
        print(f"file:// fetch, bounded     {bound:6.2f} s CPU (+{bound / unbound - 1:.0%})")

        lines = ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
        lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]" for n in range(1, 10)]
        bomb = "\n".join(lines)
        print(
            f"alias bomb 10 x 9 refused  {refusal(lambda: parse_yaml(bomb, 'b', BookError)):6.3f} s"
        )

        step = (
            '  - get: v{0}\n    entity: process\n    from: edr\n    where: "[process:pid = {0}]"\n'
        )
        book = folder / "big.yaml"
        book.write_text("id: x\ntitle: big\nsteps:\n" + "".join(map(step.format, range(20_000))))
        print(f"20,000-step book refused   {refusal(lambda: load_book(book)):6.3f} s")

        deep = folder / "deep.json"
        nested = '{"a": ' * 100_000 + "1" + "}" * 100_000
        deep.write_text(
            '{"type": "bundle", "objects": [{"type": "observed-data", "id": "observed-data--1", '
            '"first_observed": "2021-06-01T00:00:00Z", "last_observed": "2021-06-01T00:00:00Z", '
            f'"number_observed": 1, "objects": {{"0": {{"type": "process", "x": {nested}}}}}}}]}}'
        )
        window = Window(datetime(2021, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC))

        async def fetch() -> None:
            async for _ in BundleSource(deep).pages("[process:name = 'a']", window):
                pass

        print(f"100,000-deep bundle refused{refusal(lambda: asyncio.run(fetch())):6.3f} s")


if __name__ == "__main__":
    main()

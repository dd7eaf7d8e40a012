"""``huntline images``: build and list the analytics images."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from huntline.cli.console import err, escape, new_table, out


def cmd_images_build(args: argparse.Namespace) -> int:
    from huntline.analytics.images import build_image, list_images

    names = [args.name] if args.name else list_images(Path(args.root))
    for name in names:
        err.print(f"[dim]building {escape(name)}…[/]")
        tag = build_image(
            Path(args.root) / name if not Path(name).is_dir() else Path(name),
            base_image=args.base_image,
            ca_bundle=Path(args.ca_bundle) if args.ca_bundle else None,
            progress=lambda line: (
                err.print(f"[dim]  {line}[/]", markup=False) if args.verbose else None
            ),
        )
        out.print(f"[green]✓[/] {escape(tag)}")
    return 0


def cmd_images_list(args: argparse.Namespace) -> int:

    from huntline.analytics.images import describe_images

    table = new_table("name", "built", "digest", "size", "network", "version", "parameters")
    for info in describe_images(Path(args.root)):
        labels = info.labels
        table.add_row(
            escape(info.name),
            escape(info.created or "[not built]"),
            escape((info.image_id or "")[:19]),
            f"{info.size_mb:,.0f} MB" if info.size_mb is not None else "",
            "yes" if labels.network else "",
            escape(labels.version or ""),
            escape(", ".join(sorted(labels.parameters or ()))),
        )
    out.print(table)
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``images build`` and ``images list``."""
    images = commands.add_parser("images", help="build the analytics images").add_subparsers(
        dest="images_command", required=True
    )
    build = images.add_parser("build", help="build analytics_images/NAME (all when no NAME)")
    build.add_argument("name", nargs="?", metavar="NAME")
    build.add_argument("--root", default="analytics_images", help="folder of the image folders")
    build.add_argument("--base-image", help="base image (default python:3.11-slim)")
    build.add_argument("--ca-bundle", help="extra CA bundle for pip inside the build (TLS proxies)")
    build.add_argument("-v", "--verbose", action="store_true", help="show the build output")
    build.set_defaults(handler=cmd_images_build)
    listing = images.add_parser(
        "list", help="list the image folders: built or not, digest, size and labels"
    )
    listing.add_argument("--root", default="analytics_images")
    listing.set_defaults(handler=cmd_images_list)

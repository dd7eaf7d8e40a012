"""``huntline pool create docker``: build the hunt-runner image and create the Docker work pool
(:mod:`huntline.prefect.docker_pool` says what the pool runs and how it is locked down)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from huntline.cli.console import err, escape, out
from huntline.errors import ServerError


def _pairs(values: list[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise ServerError(f"--env {value!r}: expected NAME=VALUE", hint="e.g. --env A=b")
        pairs[name] = setting
    return pairs


def checkout() -> Path:
    """The huntline checkout the image is built from: the one this huntline runs from."""
    import huntline
    from huntline.prefect.docker_pool import DOCKERFILE

    repo = Path(huntline.__file__).resolve().parents[2]
    if not (repo / DOCKERFILE / "Dockerfile").is_file():
        raise ServerError(
            f"huntline here is not run from a checkout ({repo / DOCKERFILE} is missing)",
            hint="install huntline from its repository (pip install -e .), or build the image "
            "yourself and pass --image",
        )
    return repo


def cmd_pool_create(args: argparse.Namespace) -> int:
    from huntline.prefect.client import sync_client
    from huntline.prefect.docker_pool import build_runner_image, docker_pool_template
    from huntline.prefect.docker_pool import ensure_docker_pool as ensure
    from huntline.prefect.server import ensure_server

    env = _pairs(args.env)
    image = args.image
    if image is None:
        err.print("[dim]building the hunt-runner image…[/]")
        image = build_runner_image(
            checkout(),
            base_image=args.base_image,
            ca_bundle=Path(args.ca_bundle) if args.ca_bundle else None,
            progress=lambda line: (
                err.print(f"[dim]  {line}[/]", markup=False) if args.verbose else None
            ),
        )
        out.print(f"[green]✓[/] image {escape(image)}")
    ensure_server(progress=lambda message: err.print(message, markup=False))
    volumes, groups = list(args.volume), []
    if args.analytics:
        from huntline.prefect.pool_analytics import analytics_access, default_scratch, engine_socket

        scratch = Path(args.scratch) if args.scratch else default_scratch()
        access = analytics_access(scratch, engine_socket())
        volumes += access.volumes
        env = {**env, **access.env}
        groups.append(access.group)
        err.print(
            "[yellow]![/] --analytics: the pool's runs reach the host's Docker engine, which is "
            "root on this host (deployments/README.md, 'Analytics in the Docker pool')",
            markup=True,
        )
    template = docker_pool_template(image, Path(args.project), env, volumes, groups)
    with sync_client() as client:
        created = ensure(client, args.name, template)
    out.print(
        f"[green]✓[/] Docker work pool {escape(args.name)} {'created' if created else 'updated'}"
        f" (image {escape(image)})"
    )
    out.print(
        f"deploy to it with: huntline deploy --pool {escape(args.name)}\n"
        f"run its worker with: huntline server start --worker docker --pool {escape(args.name)}"
    )
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``pool create docker``."""
    pools = commands.add_parser("pool", help="work pools that run hunts elsewhere").add_subparsers(
        dest="pool_command", required=True
    )
    create = pools.add_parser(
        "create",
        help="build the hunt-runner image and create (or update) a Docker work pool",
    )
    create.add_argument("kind", choices=["docker"])
    create.add_argument("--name", default="huntline-docker", help="the pool (huntline-docker)")
    create.add_argument(
        "--base-image", default="huntline-base:bookworm", help="base image (huntline-base:bookworm)"
    )
    create.add_argument("--ca-bundle", help="extra CA bundle for pip inside the build")
    create.add_argument("--image", help="use this built image instead of building one")
    create.add_argument(
        "--project",
        default=".",
        help="the repository mounted read-only into each run, where its books are (.)",
    )
    create.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for every run's container (stored in the pool: no secrets), "
        "e.g. HUNTLINE_STORAGE=s3://bucket/hunts",
    )
    create.add_argument(
        "--volume",
        action="append",
        default=[],
        metavar="SRC:DST[:ro]",
        help="a further mount, e.g. a credentials file, read-only",
    )
    create.add_argument(
        "--analytics",
        action="store_true",
        help="let runs start docker:// analytics as sibling containers on the host's engine "
        "(mounts its socket: root on the host; see deployments/README.md)",
    )
    create.add_argument(
        "--scratch",
        default=None,
        help="with --analytics: the host directory runs share with their analytics, mounted "
        "at the same path (<tmp>/huntline-pool-<uid>)",
    )
    create.add_argument("-v", "--verbose", action="store_true", help="show the build output")
    create.set_defaults(handler=cmd_pool_create)

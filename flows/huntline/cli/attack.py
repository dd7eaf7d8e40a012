"""``huntline attack-layer [PATH...]``: an ATT&CK Navigator layer of the books' coverage."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from huntline.cli.console import add_book_paths, err


def cmd_attack_layer(args: argparse.Namespace) -> int:
    from huntline.attack import attack_layer
    from huntline.book.files import book_paths
    from huntline.steps.book_checks import load_hunt

    paths = book_paths([Path(path) for path in args.paths])
    if not paths:
        err.print(f"no hunt books under {', '.join(args.paths)}")
        return 1
    layer = attack_layer(((path, load_hunt(path)) for path in paths), name=args.name)
    print(json.dumps(layer, indent=2))
    return 0


def register(commands: argparse._SubParsersAction[Any]) -> None:
    layer = commands.add_parser(
        "attack-layer",
        help="print a MITRE ATT&CK Navigator layer from the books' attack.tNNNN tags "
        "(score: number of books)",
    )
    add_book_paths(layer, "books")
    layer.add_argument("--name", default="huntline coverage", help="the layer's name")
    layer.set_defaults(handler=cmd_attack_layer)

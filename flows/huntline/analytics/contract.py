"""The Kestrel analytics container contract, in one place.

Any image written for Kestrel (kestrel-analytics) must run unchanged under huntline, so these
values are Kestrel's, not ours.

Image naming
    ``docker://NAME`` or a bare ``NAME`` is the image ``kestrel-analytics-NAME``. A full image
    reference (one with ``/`` or ``:``, e.g. ``ghcr.io/org/img:1.2`` or ``img:latest``) is used
    as is. Either must fit Docker's reference grammar (:data:`REFERENCE`): the name goes into
    the Engine API's URL path, where ``docker://../x`` became ``/v1.41/x/json``.

Mount
    One host directory is mounted at ``/data``; it is the only writable mount. Layout::

        /data/input/{i}.parquet.gz    the i-th ``on`` variable (written by the host)
        /data/output/{i}.parquet.gz   the updated i-th variable (written by the analytics)
        /data/display/*.html          at most one display object (Kestrel's is ret.html)

    Outputs and displays must be regular files: links and special files are refused
    (:mod:`huntline.analytics.harvest`), since the host would resolve them.

Files
    Inputs are gzip parquet. Kestrel itself writes snappy despite the ``.gz`` name, so any
    reader (ours, the analytics') must accept either codec. Outputs may use either codec.
    A missing output means the variable is unchanged.

Required columns
    Outputs keep ``id`` and ``type``; their rows are merged back into the variable by ``id``.
    Column names follow Kestrel/firepit (``name``, ``pid``, ``command_line``,
    ``parent_ref.name``, ``binary_ref.parent_directory_ref.path``, ...).

Parameters
    ``with: {k: v}`` becomes environment variables named exactly ``k``. Values are strings;
    lists are joined with ``,``; booleans are ``true``/``false``; None is the empty string.

Exit codes
    0 is success. Any other code fails the step, with the tail of the container's logs.
    137 (SIGKILL) is what a container killed by the runner (timeout) or by the kernel
    (out of memory) reports; the runner tells the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from huntline.errors import AnalyticsError

IMAGE_PREFIX = "kestrel-analytics-"
DOCKER_SCHEME = "docker://"
DEFAULT_BASE_IMAGE = "python:3.11-slim"

DATA_MOUNT = PurePosixPath("/data")
INPUT_DIR = "input"
OUTPUT_DIR = "output"
DISPLAY_DIR = "display"
FILE_SUFFIX = ".parquet.gz"
DISPLAY_GLOB = "*.html"
MAX_DISPLAYS = 1

REQUIRED_COLUMNS: tuple[str, ...] = ("id", "type")

EXIT_OK = 0
EXIT_KILLED = 137

# Docker's image reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest],
# path components lower case, separated by '.', '_', '__' or dashes.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*"
_DOMAIN = rf"(?:{_HOST}|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE = re.compile(rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?")
MAX_REFERENCE = 512
REFERENCE_HINT = (
    "an image reference is [HOST[:PORT]/]NAME[:TAG][@DIGEST] with a lower-case NAME "
    "(e.g. ghcr.io/acme/scoring:1.0), or docker://NAME for kestrel-analytics-NAME"
)


def data_file(index: int) -> str:
    """``{index}.parquet.gz``, the name of the index-th input and output file."""
    if index < 0:
        raise ValueError(f"variable index must be >= 0, not {index}")
    return f"{index}{FILE_SUFFIX}"


def input_path(index: int) -> PurePosixPath:
    """Where the container reads the index-th ``on`` variable."""
    return DATA_MOUNT / INPUT_DIR / data_file(index)


def output_path(index: int) -> PurePosixPath:
    """Where the container writes the updated index-th variable."""
    return DATA_MOUNT / OUTPUT_DIR / data_file(index)


def output_index(filename: str) -> int | None:
    """The variable index of an output file name, or None if it is not ``{i}.parquet.gz``."""
    stem = filename.removesuffix(FILE_SUFFIX)
    if stem == filename or not stem.isdigit() or (len(stem) > 1 and stem.startswith("0")):
        return None
    return int(stem)


def image_for(reference: str) -> str:
    """The image for an ``apply`` reference (``docker://NAME``, ``NAME`` or a full reference).

    >>> image_for("docker://susp_scoring")
    'kestrel-analytics-susp_scoring'
    >>> image_for("ghcr.io/acme/scoring:1.0")
    'ghcr.io/acme/scoring:1.0'

    Raises:
        AnalyticsError: the reference is empty or the image is not a valid Docker reference.
    """
    image, problem = _image_and_problem(reference)
    if problem:
        raise AnalyticsError(problem, image=reference, hint=REFERENCE_HINT)
    return image


def reference_problem(reference: str) -> str | None:
    """Why ``reference`` names no valid image (for ``validate``), or None."""
    return _image_and_problem(reference)[1]


def _image_and_problem(reference: str) -> tuple[str, str | None]:
    name = reference.removeprefix(DOCKER_SCHEME).strip()
    if not name:
        return name, f"empty analytics reference {reference!r}: use docker://NAME or an image"
    if "/" not in name and ":" not in name and "@" not in name:
        name = name if name.startswith(IMAGE_PREFIX) else IMAGE_PREFIX + name
    # The engine puts the name in its API path (/images/NAME/json): only the grammar's
    # characters may reach it, never '..' or '%'.
    if len(name) > MAX_REFERENCE:
        return name, f"an image reference longer than {MAX_REFERENCE} characters"
    if not REFERENCE.fullmatch(name):
        names = f" (it names {name!r})" if name != reference.strip() else ""
        return name, f"{reference!r} is not a valid image reference{names}"
    return name, None


def analytics_name(image: str) -> str | None:
    """The short NAME behind ``kestrel-analytics-NAME``, for hints; None for other images."""
    bare = image.removesuffix(":latest")
    if bare.startswith(IMAGE_PREFIX) and "/" not in bare and ":" not in bare:
        return bare[len(IMAGE_PREFIX) :]
    return None


def param_value(value: object) -> str:
    """One ``with:`` value as the string the container sees in its environment."""
    if value is None:
        return ""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(param_value(item) for item in value)
    return str(value)


def env_for(params: Mapping[str, object]) -> dict[str, str]:
    """``with: {k: v}`` as environment variables named exactly ``k``.

    >>> env_for({"n": 2, "columns": ["src_byte_count", "dst_byte_count"], "fast": True})
    {'n': '2', 'columns': 'src_byte_count,dst_byte_count', 'fast': 'true'}
    """
    env: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise AnalyticsError(
                f"invalid analytics parameter name {key!r}",
                parameter=str(key),
                hint="parameter names become environment variables: no '=', no NUL, not empty",
            )
        env[key] = param_value(value)
    return env

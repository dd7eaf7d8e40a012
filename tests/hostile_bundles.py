"""A bundle whose keys repeat within one object (issue 22 item 4), for the tests of every path
that reads bundles: ``file://`` whole and streamed, and HTTP through stix-shifter."""

from __future__ import annotations

from pathlib import Path

OBSERVATION = (
    '{{"type": "observed-data", "id": "observed-data--{n}", '
    '"first_observed": "2021-06-01T00:00:00Z", "last_observed": "2021-06-01T00:00:00Z", '
    '"number_observed": 1, "objects": {objects}}}'
)
#: mimikatz hidden behind a second "0"; a command line replaced by a second one
HOSTILE = [
    '{"0": {"type": "process", "name": "mimikatz.exe", "pid": 4}, '
    '"0": {"type": "process", "name": "notepad.exe", "pid": 5}}',
    '{"0": {"type": "process", "name": "cmd.exe", "command_line": "cmd /c whoami", '
    '"pid": 6, "command_line": "cmd"}}',
    '{"0": {"type": "process", "name": "svchost.exe", "pid": 7}}',
]
NOTES = [
    "STIX bundle {path}: observed-data--0 has the key '0' twice in objects: the last value was "
    "read, the earlier one dropped",
    "STIX bundle {path}: observed-data--1 has the key 'command_line' twice in objects.0: the "
    "last value was read, the earlier one dropped",
]


def write(
    path: Path, objects: list[str], head: str = '"type": "bundle", "id": "bundle--1"'
) -> Path:
    items = ", ".join(OBSERVATION.format(n=n, objects=o) for n, o in enumerate(objects))
    path.write_text("{" + head + ', "objects": [' + items + "]}")
    return path

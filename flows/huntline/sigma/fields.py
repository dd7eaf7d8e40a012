"""Where each Sigma field lives in huntline's tables, per log source.

A Sigma rule names fields of its log source's taxonomy (``Image``, ``CommandLine``); huntline's
tables have Kestrel/firepit columns of one STIX entity (``binary_ref.name``, ``command_line``).
Each log source here names the entity its rules are hunted over and maps every field it can:

- to a **column** that STIX and stix-shifter's mappings define (``command_line``, ``pid``,
  ``parent_ref.binary_ref.name``);
- to a **path**: a file's full path (Sysmon's ``Image``) is, in STIX, a file whose ``name`` sits
  in a ``parent_directory_ref.path``; the backend joins the two (the condition function
  ``path(directory, name)``) and pushes down a constraint on the name only;
- to a documented **``x_`` property** where STIX has no standard one (``OriginalFileName`` as
  ``binary_ref.x_original_file_name``): a connector that delivers the value fills it; elsewhere
  it is null, so a test on it is false, as in any Sigma backend whose logs lack the field.
  :func:`is_connector_field` tells them apart for ``huntline sigma coverage``.

A field with no home at all is not in the table; the backend then refuses the rule, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogSource:
    """The entity a Sigma log source is hunted over, and its field -> column mapping."""

    category: str
    entity: str
    fields: dict[str, str]
    #: Columns whose comparisons are pushed down to the source in the STIX pattern: standard
    #: properties that stix-shifter's connectors map. The rest are checked locally only.
    pushed: frozenset[str]


#: Virtual columns that are a file's full path, ``<prefix>path``, built from
#: ``<prefix>parent_directory_ref.path`` and ``<prefix>name``: ``binary_ref.path`` is a process's
#: image path.
PATHS = frozenset({"binary_ref.path", "parent_ref.binary_ref.path", "path"})

_PROCESS = {
    "Image": "binary_ref.path",
    "OriginalFileName": "binary_ref.x_original_file_name",
    "CommandLine": "command_line",
    "ParentImage": "parent_ref.binary_ref.path",
    "ParentCommandLine": "parent_ref.command_line",
    "User": "creator_user_ref.user_id",
    "ParentUser": "parent_ref.creator_user_ref.user_id",
    "CurrentDirectory": "cwd",
    "IntegrityLevel": "x_integrity_level",
    "ProcessId": "pid",
    "ParentProcessId": "parent_ref.pid",
    "ProcessGuid": "x_unique_id",
    "ParentProcessGuid": "parent_ref.x_unique_id",
    "LogonId": "creator_user_ref.x_logon_id",
    "Product": "binary_ref.x_product",
    "Company": "binary_ref.x_company",
    "Description": "binary_ref.x_description",
    "FileVersion": "binary_ref.x_file_version",
    "md5": "binary_ref.hashes.MD5",
    "sha1": "binary_ref.hashes.'SHA-1'",
    "sha256": "binary_ref.hashes.'SHA-256'",
    "Imphash": "binary_ref.x_imphash",
}
#: The process that acted, for log sources whose entity is not the process itself.
_ACTOR = {"Image": "x_process_path", "User": "x_user", "ProcessId": "x_pid"}

LOG_SOURCES: dict[str, LogSource] = {
    source.category: source
    for source in (
        LogSource(
            "process_creation",
            "process",
            _PROCESS,
            frozenset({"binary_ref.path", "command_line"}),
        ),
        LogSource(
            "network_connection",
            "network-traffic",
            {
                **_ACTOR,
                "DestinationIp": "dst_ref.value",
                "DestinationPort": "dst_port",
                "SourceIp": "src_ref.value",
                "SourcePort": "src_port",
                "DestinationHostname": "x_dst_hostname",
                "SourceHostname": "x_src_hostname",
                "Initiated": "x_initiated",
                "Protocol": "x_protocol",
            },
            frozenset({"dst_ref.value", "dst_port", "src_ref.value", "src_port"}),
        ),
        LogSource(
            "file_event",
            "file",
            {**_ACTOR, "TargetFilename": "path"},
            frozenset({"path"}),
        ),
        LogSource(
            "image_load",
            "file",
            {
                **_ACTOR,
                "ImageLoaded": "path",
                "OriginalFileName": "x_original_file_name",
                "Product": "x_product",
                "Company": "x_company",
                "Description": "x_description",
                "Signed": "x_signed",
                "Signature": "x_signature",
                "SignatureStatus": "x_signature_status",
                "md5": "hashes.MD5",
                "sha1": "hashes.'SHA-1'",
                "sha256": "hashes.'SHA-256'",
                "Imphash": "x_imphash",
            },
            frozenset({"path"}),
        ),
        LogSource(
            "dns_query",
            "domain-name",
            {**_ACTOR, "QueryName": "value", "QueryResults": "x_query_results"},
            frozenset({"value"}),
        ),
        *(
            LogSource(
                category,
                "windows-registry-key",
                {
                    **_ACTOR,
                    "TargetObject": "key",
                    "Details": "x_details",
                    "EventType": "x_event_type",
                    "NewName": "x_new_name",
                },
                frozenset(),
            )
            for category in (
                "registry_add",
                "registry_delete",
                "registry_event",
                "registry_set",
                "registry_rename",
            )
        ),
    )
}


def is_connector_field(column: str) -> bool:
    """Whether a column is an ``x_`` property, filled only by connectors that deliver it."""
    return any(part.startswith("x_") for part in column.split("."))

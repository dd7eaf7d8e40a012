"""The huntline processing pipeline: Sigma's field names -> huntline's columns, per log source.

Built from pySigma's own transformations, in the order pySigma applies them:

1. ``Hashes: 'SHA256=...'`` becomes one detection item per algorithm (``SHA256: ...``), since
   STIX keeps each hash in its own property;
2. per log source (:data:`huntline.sigma.fields.LOG_SOURCES`): the entity and the log source
   are written into the pipeline state (the backend reads them), and the fields are renamed to
   columns.

A field no log source maps keeps its Sigma name; the backend refuses it, naming the field.
"""

from __future__ import annotations

from sigma.processing.conditions import LogsourceCondition, RuleProcessingCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    FieldMappingTransformation,
    HashesFieldsDetectionItemTransformation,
    SetStateTransformation,
)

from huntline.sigma.fields import LOG_SOURCES

#: The hash algorithms ``Hashes`` values are split into (pySigma names the new fields so).
HASH_FIELDS = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "IMPHASH": "Imphash"}


def huntline_pipeline() -> ProcessingPipeline:
    """Sigma's taxonomy -> huntline's STIX/firepit columns, for every supported log source."""
    items: list[ProcessingItem] = [
        ProcessingItem(
            identifier="huntline_hashes",
            transformation=HashesFieldsDetectionItemTransformation(
                valid_hash_algos=list(HASH_FIELDS)
            ),
        )
    ]
    for source in LOG_SOURCES.values():

        def only_here(category: str = source.category) -> list[RuleProcessingCondition]:
            return [LogsourceCondition(category=category)]  # one per item: pySigma binds each

        mapping: dict[str | None, str | list[str]] = dict(source.fields.items())
        mapping |= {
            algo: source.fields[name] for algo, name in HASH_FIELDS.items() if name in source.fields
        }
        items += [
            ProcessingItem(
                identifier=f"huntline_{source.category}_entity",
                transformation=SetStateTransformation("entity", source.entity),
                rule_conditions=only_here(),
            ),
            ProcessingItem(
                identifier=f"huntline_{source.category}_logsource",
                transformation=SetStateTransformation("logsource", source.category),
                rule_conditions=only_here(),
            ),
            ProcessingItem(
                identifier=f"huntline_{source.category}_fields",
                transformation=FieldMappingTransformation(mapping),
                rule_conditions=only_here(),
            ),
        ]
    return ProcessingPipeline(
        name="huntline: Sigma fields to STIX columns", priority=20, items=items
    )

"""JSON Schemas of each provider's ``params``: every field, type, range and enumeration its
validator (``validate`` in ``shared/providers/<name>.py``, over ``providers/validate.py``)
enforces. Only the OpenAPI generator imports this module; the tests hold it to the
validators (a rule missing here fails them).

Rules between fields (e.g. ``From`` before ``To``) are told in the descriptions: JSON Schema
says them badly, and the API answers them with a ``400`` naming the field.
"""

from __future__ import annotations

from typing import Any

from shared.providers import cloudwatch, cls, dlc, dms, mongodb, tcss

NON_BLANK = "\\S"  # Params.text: a string with something other than white space


def text(max_len: int = 4096, pattern: str | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": max_len,
                              "pattern": f"^(?:{pattern})$" if pattern else NON_BLANK}
    return {**schema, **extra}


def integer(minimum: int | None = None, maximum: int | None = None, **extra: Any
            ) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return {**schema, **extra}


def choice(values: Any, default: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    if default is not None:
        schema["default"] = default
    return schema


def strings(max_items: int = 100) -> dict[str, Any]:
    return {"type": "array", "maxItems": max_items,
            "items": {"type": "string", "minLength": 1}}


def obj(props: dict[str, Any], required: list[str], description: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required,
            "properties": props, "description": description}


PARAMS: dict[str, dict[str, Any]] = {
    "cloudwatch": obj({
        "logGroupName": text(512, cloudwatch.GROUP_NAME, description="One log group"),
        "logGroupNamePrefix": text(512, cloudwatch.GROUP_NAME, description=(
            "Every log group starting with this (one export task each, in turn)")),
        "logGroupNames": {**strings(cloudwatch.MAX_GROUPS), "minItems": 1, "items": {
            "type": "string", "pattern": f"^(?:{cloudwatch.GROUP_NAME})$"},
            "description": "Several log groups (one export task each, in turn)"},
        "from": integer(0, description="Unix time in milliseconds; earlier than to"),
        "to": integer(10**11, description="Unix time in milliseconds"),
        "logStreamNamePrefix": text(512, description="Only the streams starting with this"),
    }, ["from", "to"], "CloudWatch Logs export tasks (CreateExportTask), one at a time per "
                       "account and region: exactly one of logGroupName, logGroupNamePrefix "
                       "or logGroupNames. The result is one gzip object per log stream, with "
                       "a manifest."),
    "cls": obj({
        "TopicId": text(),
        "From": integer(0, description="Unix time in milliseconds; earlier than To"),
        "To": integer(10**11, description="Unix time in milliseconds"),
        "Query": text(pattern="[^|]*[^|\\s][^|]*", default="*",
                      description="A search query without SQL (nothing after '|')"),
        "Count": integer(1, cls.MAX_COUNT, default=cls.MAX_COUNT),
        "Order": choice(("asc", "desc"), "desc"),
        "Format": choice(("json", "csv"), "json"),
        "SyntaxRule": integer(0, 1, default=1),
    }, ["TopicId", "From", "To"], "CLS log export (CreateExport). From must be earlier than To."),
    "dlc": obj({
        "TaskId": text(64, "[A-Za-z0-9][A-Za-z0-9_-]*",
                       description="An existing DLC task; not together with SQL"),
        "SQL": text(64 * 1024, description="A query to run first; needs DatabaseName"),
        "DatabaseName": text(128, description="With SQL only"),
        "DataEngineName": text(128, description="With SQL only"),
        "DatasourceConnectionName": text(128, description="With SQL only"),
        "Format": choice(dlc.FORMATS, "csv"),
    }, [], "DLC query results: either TaskId, or SQL with DatabaseName."),
    "dms": obj({
        "Tid": integer(1),
        "OrderId": integer(1, description="An existing ticket; then none of DbId, ExeSQL, "
                                          "Logic, InstanceId, Comment, AffectRows"),
        "DbId": integer(1, description="Required without OrderId"),
        "ExeSQL": text(64 * 1024, description="Required without OrderId"),
        "Logic": {"type": "boolean", "default": False},
        "InstanceId": integer(1, description="Required without OrderId (the ticket's "
                                             "PluginParam.InstanceId)"),
        "AffectRows": integer(0),
        "Comment": text(512),
        "FileType": choice(dms.FILE_TYPES, "CSV"),
        "Encoding": choice(dms.ENCODINGS, "UTF8"),
    }, ["Tid"], "DMS data export ticket: an existing OrderId, or DbId with ExeSQL and "
                "InstanceId."),
    "mongodb": obj({
        "InstanceId": text(64, "cmgo-[a-z0-9]{6,16}"),
        "StartTime": text(19, "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
                          description="Like 2026-11-22 08:00:00; earlier than EndTime"),
        "EndTime": text(19, "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
                        description="At most 7 days after StartTime"),
        **{name: strings() for name in mongodb.LIST_FIELDS},
    }, ["InstanceId", "StartTime", "EndTime"], "MongoDB log download (CreateLogDownloadTask)."),
    "tcss": obj({
        "Action": choice(sorted(tcss.ACTIONS)),
        "Params": {"type": "object", "default": {},
                   "description": "The action's request fields (as the SDK names them)"},
    }, ["Action"], "TCSS export job: any Create*ExportJob action."),
}

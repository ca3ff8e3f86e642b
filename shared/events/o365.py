"""Office 365 Management Activity API audit records -> canonical events.

Mapping (DESIGN §3): id=Id, type="{Workload}/{Operation}", time=CreationTime (zone-less means UTC),
entity=UserId as sent, tenant=OrganizationId. ``attributes`` keeps every other producer field verbatim
under its own name, plus derived snake_case keys rules use: workload, operation, record_type,
result_status, client_ip, user_type.

This is the hot path of the pipeline (see docs/performance.md). The common record is checked with
inline tests and built without copies; anything unusual takes the precise, slower path that names
the field at fault. Values that repeat across records (type strings, timestamps to the second,
client addresses, status spellings) are cached in bounded dicts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.canonical import assemble_event
from shared.events.client_ip import parse_client_ip
from shared.events.fields import optional_text, required_text
from shared.events.models import Event
from shared.events.provenance import Provenance
from shared.events.timestamps import iso_timestamp_or_none, parse_iso_timestamp

FORMAT = "o365"

#: ResultStatus spellings seen in the wild, lower-cased -> one normalized value.
_RESULT_STATUS = {
    "succeeded": "succeeded",
    "success": "succeeded",
    "failed": "failed",
    "failure": "failed",
    "partiallysucceeded": "partially_succeeded",
    "partially_succeeded": "partially_succeeded",
}

#: The documented UserType enumeration (Office 365 Management Activity API schema).
_USER_TYPES = {
    0: "regular",
    1: "reserved",
    2: "admin",
    3: "dc_admin",
    4: "system",
    5: "application",
    6: "service_principal",
    7: "custom_policy",
    8: "system_policy",
}

#: Bounded caches of values that repeat from record to record (cleared when full).
_CACHE_LIMIT = 8192
_TYPES: dict[tuple[str, str], str] = {}
_TIMES: dict[str, datetime] = {}
_CLIENT_IPS: dict[str, str | None] = {}
_STATUSES: dict[str, str | None] = {}


def normalize_o365_record(record: dict[str, Any], provenance: Provenance) -> Event:
    """One O365 audit record (decoded JSON object) -> Event; ``RecordRejected`` says why not.

    ``record`` is left as it is; the event's attributes are a new dict.
    """
    return normalize_owned_o365_record(record.copy(), provenance)


def normalize_owned_o365_record(record: dict[str, Any], provenance: Provenance) -> Event:
    """Like ``normalize_o365_record``, but ``record`` becomes the event's attributes (no copy).

    For callers that own a freshly decoded record. A rejected record is left unchanged.
    """
    get = record.get
    record_id, workload, operation = get("Id"), get("Workload"), get("Operation")
    created, entity, tenant = get("CreationTime"), get("UserId"), get("OrganizationId")
    time = (_TIMES.get(created) or _parse_time(created)) if type(created) is str else None
    if not (  # the common record, checked inline; anything else is re-checked field by field
        time is not None
        and type(record_id) is str
        and type(workload) is str
        and type(operation) is str
        and type(entity) is str
        and record_id
        and workload
        and operation
        and entity
        and not (record_id.isspace() or workload.isspace() or operation.isspace() or entity.isspace())
        and (tenant is None or (type(tenant) is str and tenant))
    ):
        record_id, workload, operation, time, entity, tenant = _checked_fields(record)
    event_type = _TYPES.get((workload, operation))
    if event_type is None:
        event_type = _remember(_TYPES, (workload, operation), f"{workload}/{operation}")
    _add_derived_attributes(record, workload, operation)
    del record["Id"], record["CreationTime"], record["UserId"]
    if tenant is not None or "OrganizationId" in record:
        del record["OrganizationId"]
    return assemble_event(record_id, FORMAT, event_type, time, entity, tenant, record, provenance)


def _parse_time(text: str) -> datetime | None:
    """``CreationTime`` as UTC (remembered), or None when it is not a timestamp."""
    moment = iso_timestamp_or_none(text)
    return None if moment is None else _remember(_TIMES, text, moment)


def _checked_fields(record: dict[str, Any]) -> tuple[str, str, str, datetime, str, str | None]:
    """The canonical fields, each checked in order; ``RecordRejected`` names the first bad one."""
    record_id = required_text(record, "Id", fmt=FORMAT)
    workload = required_text(record, "Workload", fmt=FORMAT)
    operation = required_text(record, "Operation", fmt=FORMAT)
    created = required_text(record, "CreationTime", fmt=FORMAT)
    time = _TIMES.get(created) or parse_iso_timestamp(created, fmt=FORMAT, field="CreationTime")
    entity = required_text(record, "UserId", fmt=FORMAT)
    tenant = optional_text(record, "OrganizationId", fmt=FORMAT)
    return record_id, workload, operation, time, entity, tenant


def _add_derived_attributes(attributes: dict[str, Any], workload: str, operation: str) -> None:
    """Computes every derived value first and only then writes them: a failure changes nothing."""
    get = attributes.get
    client_ip, record_type, user_type = get("ClientIP"), get("RecordType"), get("UserType")
    if client_ip is None:
        client_ip = get("ClientIPAddress")
    if type(client_ip) is str:
        address = _CLIENT_IPS.get(client_ip, "")
        if address == "":
            address = _remember(_CLIENT_IPS, client_ip, parse_client_ip(client_ip))
    else:
        address = None
    status = get("ResultStatus")
    if type(status) is str:
        status = _STATUSES.get(status, "")
        if status == "":
            status = normalize_result_status(get("ResultStatus"))
    elif status is not None:
        status = normalize_result_status(status)
    user = (_USER_TYPES.get(user_type) or str(user_type)) if type(user_type) is int else None
    attributes["workload"] = workload
    attributes["operation"] = operation
    attributes["record_type"] = record_type if type(record_type) is int else None
    attributes["result_status"] = status
    attributes["client_ip"] = address
    attributes["user_type"] = user


def normalize_result_status(value: object) -> str | None:
    """ "Succeeded"/"Success"/"success" -> "succeeded", "Failed"/"Failure" -> "failed",
    "PartiallySucceeded" -> "partially_succeeded"; other text lower-cased ("True" -> "true")."""
    if type(value) is str:
        status = _STATUSES.get(value, "")
        if status == "":
            lowered = value.lower()
            status = _remember(_STATUSES, value, _RESULT_STATUS.get(lowered, lowered) or None)
        return status
    if type(value) is bool:
        return "true" if value else "false"
    return None


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value

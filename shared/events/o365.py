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

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.events.canonical import (
    ALL_FIELDS_SET,
    ASSEMBLE_IN_PLACE,
    assemble_event,
    new_object,
    set_dict,
    set_extra,
    set_fields_set,
    set_private,
)
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

#: Bounded caches of values that repeat from record to record (cleared when full). As large as the
#: address parser's own cache: a feed's distinct client addresses outnumber 8,192 within minutes.
_CACHE_LIMIT = 65_536
_from_iso_format = datetime.fromisoformat
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
    get: Callable[[str], Any] = record.get
    record_id, workload, operation = get("Id"), get("Workload"), get("Operation")
    created, entity, tenant = get("CreationTime"), get("UserId"), get("OrganizationId")
    time = (_TIMES.get(created) or _parse_time(created)) if type(created) is str else None
    event_type: str | None = None
    valid_type = type(workload) is str and type(operation) is str
    if valid_type:  # a known (Workload, Operation) pair was valid text before: not checked again
        event_type = _TYPES.get((workload, operation))
        if event_type is None:
            valid_type = bool(workload and operation and not (workload.isspace() or operation.isspace()))
    if not (  # the common record, checked inline; anything else is re-checked field by field
        time is not None
        and valid_type
        and type(record_id) is str
        and type(entity) is str
        and record_id
        and entity
        and not (record_id.isspace() or entity.isspace())
        and (tenant is None or (type(tenant) is str and tenant))
    ):
        record_id, workload, operation, time, entity, tenant = _checked_fields(record)
    if event_type is None:
        event_type = _TYPES.get((workload, operation)) or _remember(
            _TYPES, (workload, operation), f"{workload}/{operation}"
        )
    # the derived attributes (inline: one frame per record): every value first, then the writes,
    # so a failure changes nothing
    client_ip, record_type, user_type, status = get("ClientIP"), get("RecordType"), get("UserType"), get("ResultStatus")
    if client_ip is None:
        client_ip = get("ClientIPAddress")
    if type(client_ip) is str:
        address = _CLIENT_IPS.get(client_ip, "")
        if address == "":
            address = _remember(_CLIENT_IPS, client_ip, parse_client_ip(client_ip))
    else:
        address = None
    if type(status) is str:
        status = _STATUSES.get(status, "")
        if status == "":
            status = normalize_result_status(get("ResultStatus"))
    elif status is not None:
        status = normalize_result_status(status)
    user = (_USER_TYPES.get(user_type) or str(user_type)) if type(user_type) is int else None
    record["workload"] = workload
    record["operation"] = operation
    record["record_type"] = record_type if type(record_type) is int else None
    record["result_status"] = status
    record["client_ip"] = address
    record["user_type"] = user
    del record["Id"], record["CreationTime"], record["UserId"]
    if tenant is not None or "OrganizationId" in record:
        del record["OrganizationId"]
    if not ASSEMBLE_IN_PLACE:
        return assemble_event(record_id, FORMAT, event_type, time, entity, tenant, record, provenance)
    event = new_object(Event)  # what assemble_event does, without its frame
    set_dict(
        event,
        {
            "id": record_id,
            "source": FORMAT,
            "type": event_type,
            "time": time,
            "entity": entity,
            "tenant": tenant,
            "attributes": record,
            "partition": provenance[0],
            "sequence_number": provenance[1],
            "enqueued_time": provenance[2],
        },
    )
    set_fields_set(event, ALL_FIELDS_SET)
    set_extra(event, None)
    set_private(event, None)
    return event


def _parse_time(text: str) -> datetime | None:
    """``CreationTime`` as UTC (remembered), or None when it is not a timestamp."""
    moment = None
    if len(text) == 19 and text[10] == "T":  # O365's own "2024-01-08T08:00:00": zone-less, so UTC
        try:
            moment = _from_iso_format(text + "+00:00")  # what iso_timestamp_or_none ends with, in one step
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is not UTC:
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

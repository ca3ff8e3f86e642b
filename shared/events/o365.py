"""Office 365 Management Activity API audit records -> canonical events.

Mapping (DESIGN §3): id=Id, type="{Workload}/{Operation}", time=CreationTime (zone-less means UTC),
entity=UserId as sent, tenant=OrganizationId. ``attributes`` keeps every other producer field verbatim
under its own name, plus derived snake_case keys rules use: workload, operation, record_type,
result_status, client_ip, user_type.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from shared.events.canonical import build_event
from shared.events.client_ip import parse_client_ip
from shared.events.fields import optional_text, required_text
from shared.events.models import Event
from shared.events.provenance import Provenance
from shared.events.timestamps import parse_iso_timestamp

FORMAT = "o365"

#: Producer fields that become canonical fields (and so are not repeated in attributes).
_CANONICAL_KEYS = ("Id", "CreationTime", "UserId", "OrganizationId")

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


def normalize_o365_record(record: dict[str, Any], provenance: Provenance) -> Event:
    """One O365 audit record (decoded JSON object) -> Event; ``RecordRejected`` says why not."""
    record_id = required_text(record, "Id", fmt=FORMAT)
    workload = required_text(record, "Workload", fmt=FORMAT)
    operation = required_text(record, "Operation", fmt=FORMAT)
    time = parse_iso_timestamp(
        required_text(record, "CreationTime", fmt=FORMAT), fmt=FORMAT, field="CreationTime"
    )
    entity = required_text(record, "UserId", fmt=FORMAT)
    tenant = optional_text(record, "OrganizationId", fmt=FORMAT)
    return build_event(
        FORMAT,
        event_id=record_id,
        event_type=f"{workload}/{operation}",
        time=time,
        entity=entity,
        tenant=tenant,
        attributes=_attributes(record, workload, operation),
        provenance=provenance,
    )


def _attributes(record: dict[str, Any], workload: str, operation: str) -> dict[str, Any]:
    attributes = record.copy()
    for key in _CANONICAL_KEYS:
        attributes.pop(key, None)
    client_ip = record.get("ClientIP")
    if client_ip is None:
        client_ip = record.get("ClientIPAddress")
    record_type = record.get("RecordType")
    user_type = record.get("UserType")
    attributes["workload"] = workload
    attributes["operation"] = operation
    attributes["record_type"] = record_type if type(record_type) is int else None
    attributes["result_status"] = normalize_result_status(record.get("ResultStatus"))
    attributes["client_ip"] = parse_client_ip(client_ip)
    attributes["user_type"] = _USER_TYPES.get(user_type, str(user_type)) if type(user_type) is int else None
    return attributes


def normalize_result_status(value: object) -> str | None:
    """ "Succeeded"/"Success"/"success" -> "succeeded", "Failed"/"Failure" -> "failed",
    "PartiallySucceeded" -> "partially_succeeded"; other text lower-cased ("True" -> "true")."""
    if type(value) is str:
        return _status_text(value)
    if type(value) is bool:
        return "true" if value else "false"
    return None


@lru_cache(maxsize=1024)
def _status_text(value: str) -> str | None:
    lowered = value.lower()
    return _RESULT_STATUS.get(lowered, lowered) or None

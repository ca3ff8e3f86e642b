"""Validation of the batch endpoints, as the real API does it (pure functions, no state).

``/interaction/v1/async/events``: a malformed request is refused whole (400); a bad member is
not queued and is reported in its slot of the answer. ``/hub/v1/dataevents/key:{key}/rowset``:
rows are written in order up to the first bad one; it and every row after it are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from squall.stub import replies
from squall.stub.replies import StubReply

MAX_ASYNC_MEMBERS = 100
_SCALARS = (str, int, float, bool, type(None))


def async_request_problem(body: Any, known_keys: frozenset[str] | None) -> StubReply | None:
    """Why the whole async batch request is refused, or None."""
    if not isinstance(body, dict):
        return replies.rest_error(400, "Request body is not a JSON object.", errorcode=replies.INVALID_MESSAGE_FORMAT)
    key, members = body.get("eventDefinitionKey"), body.get("members")
    if not isinstance(key, str) or not key.strip():
        return replies.rest_error(400, "eventDefinitionKey is required.", errorcode=replies.MISSING_REQUIRED_FIELD)
    if known_keys is not None and key not in known_keys:
        message = f"Event definition key '{key}' was not found."
        return replies.rest_error(400, message, errorcode=replies.GENERIC_EXCEPTION)
    if not isinstance(members, list) or not members:
        return replies.rest_error(400, "members is required.", errorcode=replies.MISSING_REQUIRED_FIELD)
    if len(members) > MAX_ASYNC_MEMBERS:
        message = f"members holds {len(members)} contacts; at most {MAX_ASYNC_MEMBERS} are allowed."
        return replies.rest_error(400, message, errorcode=replies.INVALID_VALUE)
    return None


def member_problem(member: Any) -> dict[str, Any] | None:
    """The not-queued slot for a bad member, or None when it can be queued."""
    if not isinstance(member, dict):
        return replies.member_error(None, replies.INVALID_MESSAGE_FORMAT, "Member is not a JSON object.")
    contact_key = member.get("contactKey")
    if not isinstance(contact_key, str) or not contact_key.strip():
        return replies.member_error(contact_key, replies.MISSING_REQUIRED_FIELD, "contactKey is required.")
    if not isinstance(member.get("data", {}), dict):
        return replies.member_error(contact_key, replies.INVALID_DATA_TYPE, "data must be a JSON object.")
    return None


@dataclass(slots=True)
class RowsetVerdict:
    written: list[dict[str, Any]] = field(default_factory=list)  # rows before the first bad one
    refusal: StubReply | None = None


def check_rowset(data_extension_key: str, body: Any) -> RowsetVerdict:
    """Rows are written in order until the first bad one; the rest is refused with it."""
    if not isinstance(body, list) or not body:
        reply = replies.rest_error(
            400, "Request body must be a non-empty JSON array of rows.", errorcode=replies.INVALID_MESSAGE_FORMAT
        )
        return RowsetVerdict(refusal=reply)
    verdict = RowsetVerdict()
    for row in body:
        problem = row_problem(row)
        if problem is not None:
            verdict.refusal = replies.rowset_error(data_extension_key, problem[1], errorcode=problem[0])
            return verdict
        verdict.written.append(row)
    return verdict


def row_problem(row: Any) -> tuple[int, str] | None:
    """(errorcode, message) for a row the API would refuse: no primary key, or a non-scalar column."""
    if not isinstance(row, dict) or not isinstance(row.get("keys"), dict) or not row["keys"]:
        return replies.MISSING_REQUIRED_FIELD, "Each row needs a non-empty 'keys' object (the primary key)."
    values = row.get("values", {})
    if not isinstance(values, dict):
        return replies.INVALID_DATA_TYPE, "'values' must be a JSON object."
    for column, value in {**row["keys"], **values}.items():
        if not isinstance(value, _SCALARS):
            return replies.INVALID_DATA_TYPE, f"The value for column [{column}] is not a valid scalar value."
    return None

"""Input files of events: JSONL lines, the JSONL envelope, canonical events.

``jsonl_lines`` is how every reader of JSONL walks a file: numbered non-blank lines, a UTF-8 byte
order mark opening the file dropped (Windows editors and PowerShell write one). A line in the
envelope shape (below) is one Event Hubs message with its properties: ``message_of_line``.

For ``rules explain`` and ``rules test``, ``read_event_body`` also reads canonical events: a JSON
object with the canonical event's keys (``id``, ``source``, ``type``, ``time``, ``entity`` and
nothing the canonical model does not know) is an ``Event`` — what ``squall normalize`` prints.
Anything else goes through ``normalize_raw_event`` (format detected).

**The JSONL envelope**: one Event Hubs message in a file, with the properties its body cannot carry.
IoT Hub telemetry is known by its system properties (``iothub-connection-device-id``) and a
CloudEvent in binary mode by its ``ce_`` application properties, neither of which is in the body.
A JSONL line of this shape is read as that message::

    {"body": {"temperature": 25.5},
     "properties": {"ce_specversion": "1.0", ...},                          # application properties
     "system_properties": {"iothub-connection-device-id": "my-device", ...},
     "enqueued_time": "2024-05-01T08:00:00Z"}                               # optional provenance

- ``body``: a JSON string is the body's text (UTF-8); any other JSON value is the body as JSON;
  ``null`` an empty body.
- ``properties`` / ``system_properties``: JSON objects (at least one of them must be present).
- optional provenance, as ``RawEvent`` names it: ``partition``, ``partition_key``,
  ``sequence_number``, ``offset``, ``enqueued_time`` (ISO 8601).

A line is an envelope when it is a JSON object with ``body``, one of the property maps, and no key
besides these. An envelope with a malformed part is rejected with the reason
(``RecordRejected``). Plain JSON input (``source="json"``) is never unwrapped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import msgspec
from pydantic import ValidationError

from shared.events import Event, NormalizeOptions, NormalizeResult, RawEvent, Rejection, normalize_raw_event
from shared.events.errors import RecordRejected
from shared.events.fields import json_type_name
from shared.events.layered import validation_reason
from shared.events.timestamps import iso_timestamp_or_none

UTF8_BOM = b"\xef\xbb\xbf"

_CANONICAL_KEYS = frozenset(Event.model_fields)
_REQUIRED_KEYS = frozenset({"id", "source", "type", "time", "entity"})
_DECODER = msgspec.json.Decoder()
_DEFAULT_OPTIONS = NormalizeOptions()


def is_canonical_record(record: Any) -> bool:
    return type(record) is dict and record.keys() >= _REQUIRED_KEYS and record.keys() <= _CANONICAL_KEYS


def without_bom(data: bytes) -> bytes:
    """``data`` without a UTF-8 byte order mark at its start."""
    return data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data


def jsonl_lines(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """The non-blank lines of JSONL input, stripped, with their 1-based numbers; a byte order mark
    opening the input is dropped."""
    for number, line in enumerate(stream, 1):
        stripped = (without_bom(line) if number == 1 else line).strip()
        if stripped:
            yield number, stripped


def message_of_line(line: bytes, options: NormalizeOptions = _DEFAULT_OPTIONS) -> RawEvent:
    """One input line as the hub delivers it: an envelope's body and properties, or the line itself
    as the body (always for ``source="json"``); ``RecordRejected`` for a malformed envelope."""
    envelope = None if options.source == "json" else read_envelope(line)
    return RawEvent(body=line) if envelope is None else envelope


def normalize_line(line: bytes, options: NormalizeOptions = _DEFAULT_OPTIONS) -> NormalizeResult:
    """The events of one input line (a body or an envelope); never raises."""
    try:
        message = message_of_line(line, options)
    except RecordRejected as rejected:
        return NormalizeResult(rejections=[Rejection(reason=str(rejected), index=None, payload=line)])
    return normalize_raw_event(message, options)


def read_event_body(body: bytes, options: NormalizeOptions = _DEFAULT_OPTIONS) -> NormalizeResult:
    """The events in one body (one record, a JSON array or an envelope); never raises, like the
    normalizer."""
    body = without_bom(body)
    try:
        decoded = _DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return normalize_raw_event(RawEvent(body=body), options)  # it words the rejection
    if is_canonical_record(decoded):
        return _canonical([decoded], single=True)
    if type(decoded) is list and decoded and all(is_canonical_record(item) for item in decoded):
        return _canonical(decoded, single=False)
    return normalize_line(body, options)


def _canonical(records: list[dict[str, Any]], *, single: bool) -> NormalizeResult:
    result = NormalizeResult()
    for index, record in enumerate(records):
        try:
            result.events.append(Event.model_validate(record))
        except ValidationError as exc:
            payload = msgspec.json.encode(record)
            reason = validation_reason("canonical", exc)
            result.rejections.append(Rejection(reason=reason, index=None if single else index, payload=payload))
    return result


PROPERTY_KEYS = ("properties", "system_properties")
PROVENANCE_KEYS = ("partition", "partition_key", "sequence_number", "offset", "enqueued_time")
ENVELOPE_KEYS = frozenset(("body", *PROPERTY_KEYS, *PROVENANCE_KEYS))


def read_envelope(line: bytes) -> RawEvent | None:
    """The message an envelope line holds, ``None`` when the line is not an envelope (it is then
    a body itself); ``RecordRejected`` for an envelope with a malformed part."""
    if b'"body"' not in line or b"properties" not in line:  # most lines: no decoding at all
        return None
    try:
        decoded = _DECODER.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not is_envelope(decoded):
        return None
    return RawEvent(
        body=_body(decoded.get("body")),
        partition=_text(decoded, "partition"),
        partition_key=_text(decoded, "partition_key"),
        sequence_number=_sequence_number(decoded.get("sequence_number")),
        offset=_text(decoded, "offset"),
        enqueued_time=_enqueued_time(decoded.get("enqueued_time")),
        properties=_properties(decoded, "properties"),
        system_properties=_properties(decoded, "system_properties"),
    )


def is_envelope(record: Any) -> bool:
    return (
        type(record) is dict
        and "body" in record
        and any(key in record for key in PROPERTY_KEYS)
        and record.keys() <= ENVELOPE_KEYS
    )


def _body(value: Any) -> bytes:
    if value is None:
        return b""
    if type(value) is str:
        return value.encode("utf-8")
    return msgspec.json.encode(value)


def _properties(envelope: dict[str, Any], key: str) -> dict[str, Any]:
    value = envelope.get(key, {})
    if type(value) is not dict:
        raise RecordRejected(f"envelope: '{key}' must be a JSON object, got {json_type_name(value)}")
    return value


def _text(envelope: dict[str, Any], key: str) -> str | None:
    value = envelope.get(key)
    if value is None:
        return None
    if type(value) not in (str, int):
        raise RecordRejected(f"envelope: '{key}' must be a string, got {json_type_name(value)}")
    return str(value)


def _sequence_number(value: Any) -> int | None:
    if value is None:
        return None
    if type(value) is not int:
        raise RecordRejected(f"envelope: 'sequence_number' must be an integer, got {json_type_name(value)}")
    return value


def _enqueued_time(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = iso_timestamp_or_none(value) if type(value) is str else None
    if moment is None:
        raise RecordRejected("envelope: 'enqueued_time' must be an ISO 8601 timestamp")
    return moment

"""The layered normalization path: any message but the commonest O365 one, record by record.

``normalize_batch`` (normalize.py) handles the commonest message inline and hands everything else
here: bodies that are not bytes, forced formats, message properties (IoT Hub, CloudEvents binary
mode), JSON arrays, every other format. Each function returns reasons, never raises: a bad record
costs that record, not its message or batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec
from pydantic import ValidationError

from shared.events.cloudevents import binary_mode_attributes, binary_mode_record, normalize_cloudevent
from shared.events.errors import RecordRejected
from shared.events.eventgrid import normalize_eventgrid_event
from shared.events.fields import json_type_name
from shared.events.iothub import DEVICE_ID_PROPERTY, iothub_system_properties, normalize_iothub_message
from shared.events.models import MAX_EVENT_BYTES, Event, RawEvent
from shared.events.o365 import normalize_owned_o365_record
from shared.events.options import NormalizeOptions
from shared.events.plain_json import normalize_json_record
from shared.events.provenance import Provenance
from shared.events.results import NormalizeResult, RejectedRecord, Rejection
from shared.log_fields import log_ids

logger = logging.getLogger(__name__)

UNKNOWN_FORMAT_REASON = (
    "unknown format: no o365/cloudevents/eventgrid/iothub/json signature and no json field map"
    " (set SQUALL_JSON_FIELD_MAP)"
)

#: Returned when no signature matches; the caller decides (field map or rejection).
UNKNOWN = "unknown"


def detect_record_format(record: dict[str, Any]) -> str:
    """ "cloudevents", "eventgrid", "o365", or ``UNKNOWN`` for a decoded JSON object, by cheap
    signature-key lookups (never by trying parsers).

    Signatures: ``specversion`` -> CloudEvents; ``eventType`` with ``dataVersion`` or
    ``metadataVersion`` -> Event Grid; ``Workload`` + ``Operation`` + ``CreationTime`` -> O365.
    (IoT Hub is recognized earlier, from the message's system properties, not from the body.)
    """
    if "Workload" in record and "Operation" in record and "CreationTime" in record:
        return "o365"
    if "specversion" in record:
        return "cloudevents"
    if "eventType" in record and ("dataVersion" in record or "metadataVersion" in record):
        return "eventgrid"
    return UNKNOWN


RecordNormalizer = Callable[[dict[str, Any], Provenance], Event]
_BY_FORMAT: dict[str, RecordNormalizer] = {
    "o365": normalize_owned_o365_record,  # records here were decoded for this call: ours to reuse
    "cloudevents": normalize_cloudevent,
    "eventgrid": normalize_eventgrid_event,
}
_DECODER = msgspec.json.Decoder()
_decode = _DECODER.decode
_new_tuple = tuple.__new__
_ENCODER = msgspec.json.Encoder()


def add_result(result: NormalizeResult, position: int, events: list[Event], rejections: list[RejectedRecord]) -> None:
    """Append one message's result to a batch's lists, its rejections naming the message's ``position``."""
    events += result.events
    for rejection in result.rejections:
        rejections.append(_new_tuple(RejectedRecord, (position, rejection)))


def rejected_record(position: int, reason: str, body: bytes) -> RejectedRecord:
    """The rejection of a whole message (``body`` is its payload), at ``position`` in its batch."""
    return _new_tuple(RejectedRecord, (position, Rejection(reason=reason, index=None, payload=body)))


def internal_error(raw: RawEvent, position: int, exc: Exception) -> RejectedRecord:
    """The rejection of a message whose normalization failed unexpectedly (a bug, logged as an error)."""
    logger.error(
        "normalizer failed unexpectedly (partition=%s sequence_number=%s): %s",
        raw.partition,
        raw.sequence_number,
        type(exc).__name__,
        extra=log_ids(partition=raw.partition, sequence_number=raw.sequence_number),
    )
    try:
        payload = raw.body if isinstance(raw.body, bytes) else b""
    except Exception:  # the body itself is what failed: the letter keeps the reason and provenance
        payload = b""
    return rejected_record(position, f"internal error while normalizing: {type(exc).__name__}", payload)


def normalize_message(raw: RawEvent, body: object, options: NormalizeOptions) -> NormalizeResult:
    """Any message but the commonest: the layered path."""
    if (
        type(body) is bytes
        and options.source == "auto"
        and not raw.properties
        and not raw.system_properties
        and len(body) <= MAX_EVENT_BYTES
    ):
        provenance = Provenance.of(raw)
        try:
            decoded = _decode(body)
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
            return _single_rejection(invalid_json_reason(body, exc), body)
        return normalize_decoded(decoded, body, options, provenance)
    return _normalize_body(raw, options)


def _normalize_body(raw: RawEvent, options: NormalizeOptions) -> NormalizeResult:
    body = raw.body if type(raw.body) is bytes else _as_bytes(raw.body)
    if len(body) > MAX_EVENT_BYTES:
        return _single_rejection(f"body is {len(body)} bytes, over the {MAX_EVENT_BYTES}-byte limit", body)
    provenance = Provenance.of(raw)
    if options.source != "auto" or raw.properties or raw.system_properties:
        by_message = _normalize_by_message(raw, body, options.source, provenance)
        if by_message is not None:
            return by_message
    try:
        decoded = _DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        return _single_rejection(invalid_json_reason(body, exc), body)
    return normalize_decoded(decoded, body, options, provenance)


def normalize_decoded(
    decoded: object, body: bytes, options: NormalizeOptions, provenance: Provenance
) -> NormalizeResult:
    if type(decoded) is list:
        return _normalize_items(decoded, options, provenance)
    outcome = _normalize_record(decoded, options, provenance)
    if type(outcome) is str:
        return _single_rejection(outcome, body)
    return NormalizeResult([outcome], [])  # type: ignore[list-item]


def _normalize_by_message(raw: RawEvent, body: bytes, source: str, provenance: Provenance) -> NormalizeResult | None:
    """IoT Hub (system properties) and CloudEvents binary mode (properties); ``None``: the body decides."""
    if source in ("auto", "iothub"):
        system = iothub_system_properties(raw) if raw.system_properties else None
        if system is not None:
            return _one_record(body, lambda: normalize_iothub_message(raw, system, provenance))
        if source == "iothub":
            return _single_rejection(f"iothub: message has no '{DEVICE_ID_PROPERTY}' system property", body)
    if source in ("auto", "cloudevents"):
        attributes = binary_mode_attributes(raw) if raw.properties else None
        if attributes is not None:
            return _one_record(body, lambda: normalize_cloudevent(binary_mode_record(raw, attributes), provenance))
    return None


def _normalize_items(items: list[Any], options: NormalizeOptions, provenance: Provenance) -> NormalizeResult:
    result = NormalizeResult()
    for index, item in enumerate(items):
        outcome = _normalize_record(item, options, provenance)
        if type(outcome) is str:
            result.rejections.append(Rejection(reason=outcome, index=index, payload=_ENCODER.encode(item)))
        else:
            result.events.append(outcome)  # type: ignore[arg-type]
    return result


def _normalize_record(record: object, options: NormalizeOptions, provenance: Provenance) -> Event | str:
    """An Event, or the rejection reason for this record."""
    if type(record) is not dict:
        return f"expected a JSON object, got {json_type_name(record)}"
    fmt: str = options.source
    if fmt == "auto":  # O365's signature inline: the commonest record skips the detector's call
        o365 = "Workload" in record and "Operation" in record and "CreationTime" in record
        fmt = "o365" if o365 else detect_record_format(record)
    try:
        if fmt == "o365":
            return _BY_FORMAT["o365"](record, provenance)
        if fmt == "json" or (fmt == UNKNOWN and options.json_paths):
            return normalize_json_record(record, provenance, paths=options.json_paths)
        normalizer = _BY_FORMAT.get(fmt)
        if normalizer is None:
            return UNKNOWN_FORMAT_REASON if fmt == UNKNOWN else f"{fmt}: body is not a message of this format"
        return normalizer(record, provenance)
    except Exception as exc:  # boundary per record: a normalizer bug costs this record, not the batch
        return record_failure(fmt, exc)


def record_failure(fmt: str, exc: Exception) -> str:
    """The rejection reason for a record whose normalizer raised ``exc``."""
    if isinstance(exc, RecordRejected):
        return exc.reason
    if isinstance(exc, ValidationError):
        return validation_reason(fmt, exc)
    logger.error("%s normalizer failed unexpectedly: %s", fmt, type(exc).__name__)
    return f"internal error while normalizing: {type(exc).__name__}"


def _one_record(body: bytes, build: Callable[[], Event]) -> NormalizeResult:
    result = NormalizeResult()
    try:
        result.events.append(build())
    except RecordRejected as exc:
        result.rejections.append(Rejection(reason=exc.reason, index=None, payload=body))
    except ValidationError as exc:
        result.rejections.append(Rejection(reason=validation_reason("record", exc), index=None, payload=body))
    return result


def _as_bytes(body: object) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    return bytes(body)  # type: ignore[call-overload]


def _single_rejection(reason: str, body: bytes) -> NormalizeResult:
    return NormalizeResult(rejections=[Rejection(reason=reason, index=None, payload=body)])


def invalid_json_reason(body: bytes, exc: Exception) -> str:
    """msgspec's decode error as a stable reason, e.g. "invalid JSON: invalid character at byte 17"."""
    if not body.strip():
        return "invalid JSON: empty body"
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested too deeply"
    if isinstance(exc, UnicodeDecodeError):  # msgspec raises it for invalid UTF-8 inside a string
        return f"invalid JSON: text is not UTF-8 at byte {exc.start}"
    message = str(exc).removeprefix("JSON is malformed: ")
    if message == "Input data was truncated":
        return "invalid JSON: input ends before the value is complete"
    if message.endswith(")") and " (byte " in message:
        text, _, position = message[:-1].rpartition(" (byte ")
        return f"invalid JSON: {text} at byte {position}"
    return f"invalid JSON: {message}"


def validation_reason(fmt: str, exc: ValidationError) -> str:
    """A pydantic error as one line naming the canonical fields (never the offending values)."""
    problems = "; ".join(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors())
    return f"{fmt}: not a valid canonical event: {problems}"

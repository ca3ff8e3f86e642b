"""``normalize_raw_event``: one Event Hub message -> canonical events plus precise rejections.

The body may hold one record or a JSON array of records (CloudEvents batch, Event Grid array, O365
content blob); each array item is normalized on its own and a bad item never stops the rest. This is
the error boundary of normalization: nothing raises past it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from pydantic import ValidationError

from shared.events.canonical import (
    ALL_FIELDS_SET,
    ASSEMBLE_IN_PLACE,
    new_object,
    set_dict,
    set_extra,
    set_fields_set,
    set_private,
)
from shared.events.client_ip import parse_client_ip
from shared.events.cloudevents import binary_mode_attributes, binary_mode_record, normalize_cloudevent
from shared.events.detect import UNKNOWN, detect_record_format
from shared.events.errors import RecordRejected
from shared.events.eventgrid import normalize_eventgrid_event
from shared.events.fields import json_type_name
from shared.events.iothub import DEVICE_ID_PROPERTY, iothub_system_properties, normalize_iothub_message
from shared.events.models import MAX_EVENT_BYTES, Event, RawEvent
from shared.events.o365 import (
    _CLIENT_IPS,
    _STATUSES,
    _TYPES,
    _USER_TYPES,
    _remember,
    normalize_owned_o365_record,
    normalize_result_status,
)
from shared.events.options import NormalizeOptions
from shared.events.plain_json import normalize_json_record
from shared.events.provenance import Provenance
from shared.events.results import NormalizeResult, Rejection
from shared.telemetry.log_fields import log_ids

logger = logging.getLogger(__name__)

UNKNOWN_FORMAT_REASON = (
    "unknown format: no o365/cloudevents/eventgrid/iothub/json signature and no json field map"
    " (set SQUALL_JSON_FIELD_MAP)"
)
DEFAULT_OPTIONS = NormalizeOptions()

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
# the steps of assemble_event and of NormalizeResult(...), for the one-frame path of normalize_raw_event
_new_object, _set_dict, _set_fields_set, _set_extra, _set_private = (
    new_object,
    set_dict,
    set_fields_set,
    set_extra,
    set_private,
)
_from_iso_format = datetime.fromisoformat
#: The last zone-less CreationTime parsed by the one-frame path, with its UTC moment.
_LAST_TIME: list[tuple[str, datetime | None]] = [("", None)]
#: Operation -> (Workload, type string) of a pair known to ``_TYPES``: one hash per record, not two.
_BY_OPERATION: dict[str, tuple[str, str]] = {}
_new_result = object.__new__
_set_events = NormalizeResult.__dict__["events"].__set__
_set_rejections = NormalizeResult.__dict__["rejections"].__set__


def normalize_raw_event(raw: RawEvent, options: NormalizeOptions = DEFAULT_OPTIONS) -> NormalizeResult:
    """Normalize every record in ``raw``; never raises (a failure becomes a ``Rejection``)."""
    try:
        body = raw.body
        partition, number, enqueued = raw.partition, raw.sequence_number, raw.enqueued_time
        if not (  # the commonest message, one O365 record in bytes with typed provenance: one frame
            type(body) is bytes
            and type(partition) is str
            and type(number) is int
            and enqueued is not None
            and enqueued.tzinfo is UTC
            and options.source == "auto"
            and not raw.properties
            and not raw.system_properties
            and len(body) <= MAX_EVENT_BYTES
            and ASSEMBLE_IN_PLACE
        ):
            return _normalize_message(raw, body, options)
        try:
            record = _decode(body)
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
            return _single_rejection(invalid_json_reason(body, exc), body)
        # what normalize_owned_o365_record does for the common record (checked inline), without its
        # frame and without a Provenance; anything unusual goes there unchanged (nothing written yet)
        if type(record) is not dict:
            return _normalize_decoded(record, body, options, _new_tuple(Provenance, (partition, number, enqueued)))
        try:
            created, workload, operation = record["CreationTime"], record["Workload"], record["Operation"]
            record_id, entity = record["Id"], record["UserId"]
        except KeyError:
            return _normalize_decoded(record, body, options, _new_tuple(Provenance, (partition, number, enqueued)))
        try:
            tenant = record.get("OrganizationId")
            time = None
            if type(created) is str and len(created) == 19 and created[10] == "T":  # O365's zone-less form
                last = _LAST_TIME[0]
                if created == last[0]:  # records arrive roughly in time order: often the same second
                    time = last[1]
                else:
                    try:  # parsed, not cached: a fresh parse costs less than a lookup in a large cache
                        time = _from_iso_format(created + "+00:00")  # what _parse_time returns for it
                    except ValueError:
                        time = None
                    if time is not None:
                        if time.tzinfo is UTC:
                            _LAST_TIME[0] = (created, time)  # one store: a reader sees a consistent pair
                        else:
                            time = None
            event_type = None
            if type(workload) is str and type(operation) is str:  # by Operation, then Workload compared
                known = _BY_OPERATION.get(operation)
                if known is not None and known[0] == workload:
                    event_type = known[1]
                else:
                    event_type = _TYPES.get((workload, operation))
                    if event_type is not None:
                        _remember(_BY_OPERATION, operation, (workload, event_type))
            if not (
                event_type is not None  # a known (Workload, Operation) pair: valid text when it was cached
                and time is not None
                and type(record_id) is str
                and type(entity) is str
                and record_id
                and entity
                and not (record_id.isspace() or entity.isspace())
                and (tenant is None or (type(tenant) is str and tenant))
            ):
                event = normalize_owned_o365_record(record, _new_tuple(Provenance, (partition, number, enqueued)))
                result = _new_result(NormalizeResult)
                _set_events(result, [event])
                _set_rejections(result, [])
                return result
            get = record.get
            client_ip, record_type, user_type, status = (
                get("ClientIP"),
                get("RecordType"),
                get("UserType"),
                get("ResultStatus"),
            )
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
                    status = normalize_result_status(record["ResultStatus"])
            elif status is not None:
                status = normalize_result_status(status)
            user = (_USER_TYPES.get(user_type) or str(user_type)) if type(user_type) is int else None
        except Exception as exc:
            return _single_rejection(_record_failure("o365", exc), body)
        record["workload"] = workload
        record["operation"] = operation
        record["record_type"] = record_type if type(record_type) is int else None
        record["result_status"] = status
        record["client_ip"] = address
        record["user_type"] = user
        del record["Id"], record["CreationTime"], record["UserId"]
        if tenant is not None or "OrganizationId" in record:
            del record["OrganizationId"]
        event = _new_object(Event)  # what assemble_event does
        _set_dict(
            event,
            {
                "id": record_id,
                "source": "o365",
                "type": event_type,
                "time": time,
                "entity": entity,
                "tenant": tenant,
                "attributes": record,
                "partition": partition,
                "sequence_number": number,
                "enqueued_time": enqueued,
            },
        )
        _set_fields_set(event, ALL_FIELDS_SET)
        _set_extra(event, None)
        _set_private(event, None)
        result = _new_result(NormalizeResult)
        _set_events(result, [event])
        _set_rejections(result, [])
        return result
    except Exception as exc:  # the normalization boundary: a bug becomes a rejection, not a crash
        logger.error(
            "normalizer failed unexpectedly (partition=%s sequence_number=%s): %s",
            raw.partition,
            raw.sequence_number,
            type(exc).__name__,
            extra=log_ids(partition=raw.partition, sequence_number=raw.sequence_number),
        )
        payload = raw.body if isinstance(raw.body, bytes) else b""
        reason = f"internal error while normalizing: {type(exc).__name__}"
        return NormalizeResult(rejections=[Rejection(reason=reason, index=None, payload=payload)])


def _normalize_message(raw: RawEvent, body: object, options: NormalizeOptions) -> NormalizeResult:
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
        return _normalize_decoded(decoded, body, options, provenance)
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
    return _normalize_decoded(decoded, body, options, provenance)


def _normalize_decoded(
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
        return _record_failure(fmt, exc)


def _record_failure(fmt: str, exc: Exception) -> str:
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

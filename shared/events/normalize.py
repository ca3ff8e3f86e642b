"""``normalize_batch`` / ``normalize_raw_event``: Event Hub messages -> canonical events plus precise rejections.

The body may hold one record or a JSON array of records (CloudEvents batch, Event Grid array, O365
content blob); each array item is normalized on its own and a bad item never stops the rest. This is
the error boundary of normalization: nothing raises past it.

This module is the hot path: the commonest message (one O365 record) is normalized inline in the
``normalize_batch`` loop; everything else goes to ``layered.py``. When the package was built with
Cython, a compiled copy of this module (``shared.events._normalize_compiled``, see setup.py and
``accelerator.py``) replaces ``normalize_batch``; this source stays the reference and the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import msgspec

from shared.events.accelerator import compiled_copy
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
from shared.events.layered import (
    UNKNOWN_FORMAT_REASON,
    add_result,
    internal_error,
    invalid_json_reason,
    normalize_decoded,
    normalize_message,
    record_failure,
    rejected_record,
)
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
from shared.events.provenance import Provenance
from shared.events.results import BatchNormalized, NormalizeResult, RejectedRecord

__all__ = [
    "ACCELERATED",
    "DEFAULT_OPTIONS",
    "UNKNOWN_FORMAT_REASON",
    "normalize_batch",
    "normalize_raw_event",
    "pure_normalize_batch",
]

DEFAULT_OPTIONS = NormalizeOptions()

_decode = msgspec.json.Decoder().decode
_new_tuple = tuple.__new__
# the steps of assemble_event, for the inline path of normalize_batch
_new_object, _set_dict, _set_fields_set, _set_extra, _set_private = (
    new_object,
    set_dict,
    set_fields_set,
    set_extra,
    set_private,
)
_from_iso_format = datetime.fromisoformat
#: The last zone-less CreationTime parsed by the inline path, with its UTC moment.
_LAST_TIME: list[tuple[str, datetime | None]] = [("", None)]
#: Operation -> (Workload, type string) of a pair known to ``_TYPES``: one hash per record, not two.
_BY_OPERATION: dict[str, tuple[str, str]] = {}


def normalize_raw_event(raw: RawEvent, options: NormalizeOptions = DEFAULT_OPTIONS) -> NormalizeResult:
    """Normalize every record in ``raw``; never raises (a failure becomes a ``Rejection``)."""
    normalized = normalize_batch((raw,), options)
    return NormalizeResult(normalized.events, [rejected.rejection for rejected in normalized.rejections])


def normalize_batch(raws: Sequence[RawEvent], options: NormalizeOptions = DEFAULT_OPTIONS) -> BatchNormalized:
    """Normalize every record of every message in ``raws``, in order; never raises.

    ``events`` come in message order (records of one message in their order); each rejection names
    its message by position in ``raws``. The commonest message (one O365 record in bytes with typed
    provenance) is normalized inline, in one loop: no call, no per-message result.
    """
    return _run_batch(raws, options)


def pure_normalize_batch(raws: Sequence[RawEvent], options: NormalizeOptions) -> BatchNormalized:
    """``normalize_batch`` in this module's own code: the reference the compiled copy is tested against."""
    events: list[Event] = []
    rejections: list[RejectedRecord] = []
    append = events.append
    inline = options.source == "auto" and ASSEMBLE_IN_PLACE
    for position, raw in enumerate(raws):
        try:
            body = raw.body
            partition, number, enqueued = raw.partition, raw.sequence_number, raw.enqueued_time
            if not (
                inline
                and type(body) is bytes
                and type(partition) is str
                and type(number) is int
                and enqueued is not None
                and enqueued.tzinfo is UTC
                and not raw.properties
                and not raw.system_properties
                and len(body) <= MAX_EVENT_BYTES
            ):
                add_result(normalize_message(raw, body, options), position, events, rejections)
                continue
            try:
                decoded = _decode(body)
            except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
                rejections.append(rejected_record(position, invalid_json_reason(body, exc), body))
                continue
            # what normalize_owned_o365_record does for the common record (checked inline), without its
            # frame and without a Provenance; anything unusual goes there unchanged (nothing written yet)
            if type(decoded) is not dict:
                provenance = _new_tuple(Provenance, (partition, number, enqueued))
                add_result(normalize_decoded(decoded, body, options, provenance), position, events, rejections)
                continue
            record: dict[str, object] = decoded  # typed: the compiled copy uses dict calls directly
            try:
                created, workload, operation = record["CreationTime"], record["Workload"], record["Operation"]
                record_id, entity = record["Id"], record["UserId"]
            except KeyError:
                provenance = _new_tuple(Provenance, (partition, number, enqueued))
                add_result(normalize_decoded(record, body, options, provenance), position, events, rejections)
                continue
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
                    append(normalize_owned_o365_record(record, _new_tuple(Provenance, (partition, number, enqueued))))
                    continue
                client_ip, record_type, user_type, status = (
                    record.get("ClientIP"),
                    record.get("RecordType"),
                    record.get("UserType"),
                    record.get("ResultStatus"),
                )
                if client_ip is None:
                    client_ip = record.get("ClientIPAddress")
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
                rejections.append(rejected_record(position, record_failure("o365", exc), body))
                continue
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
            append(event)
        except Exception as exc:  # the normalization boundary: a bug costs this message, not the batch
            rejections.append(internal_error(raw, position, exc))
    return BatchNormalized(events, rejections)


#: The compiled copy of this module when it was built from this very source (else ``None``).
_COMPILED = compiled_copy(__name__, __file__)
#: Whether ``normalize_batch`` runs compiled code (``squall bench`` reports it).
ACCELERATED = _COMPILED is not None
_run_batch: Callable[[Sequence[RawEvent], NormalizeOptions], BatchNormalized] = (
    pure_normalize_batch if _COMPILED is None else _COMPILED.pure_normalize_batch
)

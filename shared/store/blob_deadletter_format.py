"""How one dead letter looks in Blob storage: its name, its JSON body and its metadata.

Name: ``{kind}/{yyyy}/{mm}/{dd}/{partition or "none"}/{sequence or "none"}-{uuid}.json`` (UTC date of
``created_at``). Body: the letter's fields as JSON, the payload as UTF-8 text when it is UTF-8 JSON
text (``payload_encoding: "utf-8"``, kept byte for byte) and base64 otherwise. Metadata: what a
listing shows without downloading the body (kind, reason, reason code, partition, sequence, attempts,
creation time, payload size, the letter's position in its write for a stable order, and — when the
letter names its entity — ``entity_hash``, the SHA-256 of the key, never the key: metadata shows in
every listing).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from shared.log_fields import entity_hash
from shared.store.deadletter_archive import DeadLetterSummary, reason_code
from shared.store.models import DeadLetter, DeadLetterKind

NONE = "none"
#: The metadata name of the letter's entity hash (absent: the letter names no entity).
ENTITY_HASH = "entity_hash"
_TIMES = ("enqueued_time", "created_at")
_METADATA_REASON_CHARS = 1024  # metadata is an HTTP header: 8 KB for all of it


def blob_name(letter: DeadLetter) -> str:
    """Where a letter (already stamped with ``created_at``) is stored."""
    if letter.created_at is None:
        raise ValueError("stamp created_at before naming the blob")
    day = letter.created_at.astimezone(UTC).strftime("%Y/%m/%d")
    partition = _path_segment(letter.partition)
    sequence = NONE if letter.sequence_number is None else str(letter.sequence_number)
    return f"{_path_segment(letter.kind)}/{day}/{partition}/{sequence}-{uuid.uuid4().hex}.json"


def encode_body(letter: DeadLetter) -> bytes:
    record: dict[str, Any] = asdict(letter)
    del record["id"]  # the blob name is the id
    encoding, payload = _encode_payload(letter.payload)
    record["payload_encoding"] = encoding
    record["payload"] = payload
    for name in _TIMES:
        record[name] = record[name].isoformat() if record[name] else None
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def decode_body(data: bytes, *, name: str) -> DeadLetter:
    record = json.loads(data)
    encoding = record.pop("payload_encoding", "base64")  # bodies without it were all base64
    text = record.pop("payload")
    payload = text.encode() if encoding == "utf-8" else base64.b64decode(text)
    for field in _TIMES:
        record[field] = datetime.fromisoformat(record[field]) if record.get(field) else None
    record.pop("id", None)
    record["kind"] = DeadLetterKind(record["kind"])
    return DeadLetter(**record, payload=payload, id=name)


def encode_metadata(letter: DeadLetter, *, write_order: int) -> dict[str, str]:
    """Blob metadata (ASCII header values) for listing without downloading the body."""
    assert letter.created_at is not None
    whose = {ENTITY_HASH: entity_hash(letter.entity)} if letter.entity is not None else {}
    return whose | {
        "kind": _header_value(letter.kind),
        "reason_code": _header_value(reason_code(letter.reason))[:200],
        "reason": _header_value(letter.reason)[:_METADATA_REASON_CHARS],
        "partition": _header_value(letter.partition or NONE),
        "sequence": NONE if letter.sequence_number is None else str(letter.sequence_number),
        "attempts": str(letter.attempts),
        "created_at": letter.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "write_order": f"{write_order:06d}",
        "payload_bytes": str(len(letter.payload)),
    }


def summary_from_metadata(name: str, metadata: dict[str, str], *, last_modified: datetime | None) -> DeadLetterSummary:
    """The summary of a listed blob; blobs without our metadata fall back to what the name says."""
    created = metadata.get("created_at")
    sequence = metadata.get("sequence", NONE)
    partition = metadata.get("partition", NONE)
    return DeadLetterSummary(
        id=name,
        kind=metadata.get("kind") or name.split("/", 1)[0],
        reason=metadata.get("reason", ""),
        partition=None if partition == NONE else partition,
        sequence_number=int(sequence) if sequence.lstrip("-").isdigit() else None,
        attempts=int(metadata.get("attempts", "0")),
        created_at=datetime.fromisoformat(created) if created else (last_modified or datetime.now(UTC)),
        payload_bytes=int(metadata.get("payload_bytes", "0")),
    )


def listing_order(metadata: dict[str, str], name: str) -> tuple[str, str, str]:
    """Oldest first; letters written together keep the order they were written in."""
    return (metadata.get("created_at", ""), metadata.get("write_order", ""), name)


def _encode_payload(payload: bytes) -> tuple[str, str]:
    try:
        text = payload.decode("utf-8")
        json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return "base64", base64.b64encode(payload).decode("ascii")
    return "utf-8", text


def _path_segment(value: str | None) -> str:
    if not value:
        return NONE
    return value.replace("/", "_").replace("\\", "_")


def _header_value(value: str) -> str:
    """Printable ASCII only: metadata travels as HTTP headers."""
    return "".join(char if " " <= char <= "~" else "?" for char in value)

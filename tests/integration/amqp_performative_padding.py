"""Write out the trailing null fields of AMQP performatives that an encoder omitted.

AMQP 1.0 (§1.4, list-encoded composite types) lets an encoder drop trailing null fields, and Qpid
Proton does. azure-eventhub 5.15.1's pure-Python AMQP layer reads performative fields by position
and fails on such frames, so the local test peer passes its outgoing bytes through
``PerformativePadder``: every performative keeps its values and gains its omitted fields as explicit
nulls — the same frame by the specification. Nothing else is touched.
"""

from __future__ import annotations

import struct

AMQP_FRAME, SASL_FRAME = 0, 1
#: Field counts of each performative (AMQP 1.0 part 2 §2.7 and part 5 §5.3.3), by (frame type, code).
PERFORMATIVE_ARITY = {
    (AMQP_FRAME, 0x10): 10, (AMQP_FRAME, 0x11): 8, (AMQP_FRAME, 0x12): 14, (AMQP_FRAME, 0x13): 11,
    (AMQP_FRAME, 0x14): 11, (AMQP_FRAME, 0x15): 6, (AMQP_FRAME, 0x16): 3, (AMQP_FRAME, 0x17): 1,
    (AMQP_FRAME, 0x18): 1, (SASL_FRAME, 0x40): 1, (SASL_FRAME, 0x41): 3, (SASL_FRAME, 0x42): 1,
    (SASL_FRAME, 0x43): 1, (SASL_FRAME, 0x44): 2,
}  # fmt: skip
NULL, LIST0, LIST8, LIST32 = 0x40, 0x45, 0xC0, 0xD0


class PerformativePadder:
    """Re-writes an outgoing AMQP byte stream so every performative lists all of its fields."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> bytes:
        """Complete protocol headers and frames from ``data`` (plus what was held back), re-written."""
        self._pending += data
        out = []
        while True:
            if self._pending.startswith(b"AMQP") and len(self._pending) >= 8:
                out.append(self._pending[:8])
                self._pending = self._pending[8:]
                continue
            if len(self._pending) < 4:
                break
            size = struct.unpack(">I", self._pending[:4])[0]
            if len(self._pending) < size:
                break
            out.append(pad_frame(self._pending[:size]))
            self._pending = self._pending[size:]
        return b"".join(out)


def pad_frame(frame: bytes) -> bytes:
    """One frame with its performative's omitted trailing fields written out as nulls."""
    _, data_offset, frame_type, channel = struct.unpack(">IBBH", frame[:8])
    head, body = frame[8 : data_offset * 4], frame[data_offset * 4 :]
    if len(body) < 4 or body[0] != 0x00 or body[1] != 0x53:  # empty (heartbeat) or not smallulong-described
        return frame
    arity = PERFORMATIVE_ARITY.get((frame_type, body[2]))
    count, items, end = _list_at(body, 3)
    if arity is None or count >= arity:
        return frame
    items += bytes([NULL]) * (arity - count)
    new_body = body[:3] + _encode_list(arity, items) + body[end:]
    return (
        struct.pack(">IBBH", 8 + len(head) + len(new_body), data_offset, frame_type, channel)
        + head
        + new_body
    )


def _list_at(body: bytes, pos: int) -> tuple[int, bytes, int]:
    """(count, encoded items, end offset) of the list encoded at ``pos``."""
    constructor = body[pos]
    if constructor == LIST0:
        return 0, b"", pos + 1
    if constructor == LIST8:
        size, count = body[pos + 1], body[pos + 2]
        return count, body[pos + 3 : pos + 2 + size], pos + 2 + size
    if constructor == LIST32:
        size, count = struct.unpack(">II", body[pos + 1 : pos + 9])
        return count, body[pos + 9 : pos + 5 + size], pos + 5 + size
    raise ValueError(f"performative is not a list (constructor 0x{constructor:02x})")


def _encode_list(count: int, items: bytes) -> bytes:
    if len(items) + 1 <= 0xFF and count <= 0xFF:
        return bytes([LIST8, len(items) + 1, count]) + items
    return bytes([LIST32]) + struct.pack(">II", len(items) + 4, count) + items

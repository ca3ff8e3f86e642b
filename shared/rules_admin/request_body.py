"""A request body as JSON, bounded: its size, its nesting depth (measured before parsing) and no
``NaN``/``Infinity`` — every way it fails is a ``RequestInvalid`` (400) or ``RequestTooLarge`` (413)."""

from __future__ import annotations

from typing import Any

from shared.rules import JsonTextError, parse_json_text
from shared.rules_admin.errors import RequestInvalid, RequestTooLarge


def read_json_body(raw: bytes, *, max_bytes: int) -> Any:
    """The JSON value of ``raw``; the limits are those of rule files (docs/rules.md, "Limits")."""
    if len(raw) > max_bytes:
        raise RequestTooLarge(f"request body is {len(raw)} bytes; at most {max_bytes} are accepted")
    if not raw.strip():
        raise RequestInvalid("request body is empty; expected JSON")
    try:
        return parse_json_text(raw)
    except JsonTextError as exc:
        where = f" at line {exc.line} column {exc.column}" if exc.line is not None else ""
        reason = exc.message.removeprefix("invalid JSON: ")
        raise RequestInvalid(f"request body is not valid JSON: {reason}{where}") from None

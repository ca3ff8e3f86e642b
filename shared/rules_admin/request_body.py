"""A request body as JSON, bounded: its size, its nesting depth (measured before parsing), no
``NaN``/``Infinity``, and text that is text (no lone surrogate such as ``"\\ud800"``, which JSON
escapes can spell but UTF-8 cannot encode) — every way it fails is a ``RequestInvalid`` (400) or
``RequestTooLarge`` (413)."""

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
        value = parse_json_text(raw)
    except JsonTextError as exc:
        where = f" at line {exc.line} column {exc.column}" if exc.line is not None else ""
        reason = exc.message.removeprefix("invalid JSON: ")
        raise RequestInvalid(f"request body is not valid JSON: {reason}{where}") from None
    check_text(value)
    return value


def check_text(value: Any) -> None:
    """``RequestInvalid`` when a string in ``value`` (a value or a key) holds a lone surrogate.

    Iterative (the depth is already bounded, but no recursion is needed); ASCII strings are skipped
    without encoding them.
    """
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            _check_string(node)
        elif isinstance(node, dict):
            for key, item in node.items():
                _check_string(key)
                stack.append(item)
        elif isinstance(node, list):
            stack.extend(node)


def _check_string(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        raise RequestInvalid(f"request body holds a lone surrogate (\\u{code:04x}), which is not text") from None

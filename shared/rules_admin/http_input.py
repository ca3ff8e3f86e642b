"""What an HTTP caller sends, read defensively: the JSON body, ``If-Match`` and numeric parameters.

Every malformed input becomes ``RequestInvalid`` (400) or ``RequestTooLarge`` (413) with a detail
that says what to fix — never an exception the HTTP edge would have to answer with 500. The body is
decoded as strict UTF-8 and parsed as RFC 8259 JSON: no ``NaN``/``Infinity``, no lone surrogate in
any string (``"\\ud800"`` cannot be re-encoded), nesting at most ``MAX_JSON_DEPTH`` levels, integers
of at most 4300 digits (Python's limit). Framework-free, so the rules API and tests share it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared.rules_admin.errors import RequestInvalid, RequestTooLarge

MAX_BODY_BYTES = 4 * 1024 * 1024
#: Deepest nesting of arrays and objects a request body may have (a rule at the condition depth
#: limit, 32, nests about 70 levels).
MAX_JSON_DEPTH = 100
#: A version number: 1-15 ASCII digits (ETags and ``version`` parameters).
_VERSION = re.compile(r"[0-9]{1,15}")


def read_json_body(raw: bytes, *, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The JSON value in ``raw``, checked as the module docstring says."""
    if len(raw) > max_bytes:
        raise RequestTooLarge(f"request body is {len(raw)} bytes; at most {max_bytes} are accepted")
    if not raw.strip():
        raise RequestInvalid("request body is empty; expected JSON")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestInvalid(f"request body is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise RequestInvalid(f"request body is not valid JSON: {exc.msg} at {where}") from None
    except RecursionError:
        raise RequestInvalid(f"request body nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # an integer too long to convert, a refused constant
        raise RequestInvalid(f"request body is not valid JSON: {exc}") from None
    check_json_value(value)
    return value


def check_json_value(value: Any) -> None:
    """``RequestInvalid`` when ``value`` nests deeper than ``MAX_JSON_DEPTH`` or holds a string
    (value or key) that is not valid Unicode text (a lone surrogate). Iterative: no recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise RequestInvalid(f"request body nests deeper than {MAX_JSON_DEPTH} levels")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                stack.append((item, depth + 1))


def parse_if_match(header: str | None) -> int | None:
    """The version named by If-Match (``"3"``, ``W/"3"``, ``3``); ``None`` when absent or ``*``."""
    text = (header or "").strip()
    if not text or text == "*":
        return None
    bare = text.removeprefix("W/")
    if len(bare) >= 2 and bare[0] == bare[-1] == '"':
        bare = bare[1:-1]
    if not _VERSION.fullmatch(bare):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise RequestInvalid(f'If-Match must be a rule set version ETag such as "3"; got {shown!r}')
    return int(bare)


def parse_version(text: str | None, *, name: str = "version") -> int | None:
    """A version number parameter (``None`` when absent); 400 unless 1-15 ASCII digits."""
    if text is None or text == "":
        return None
    if not _VERSION.fullmatch(text):
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise RequestInvalid(f"{name!r} must be a version number such as 3; got {shown!r}")
    return int(text)


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise RequestInvalid(
                f"request body holds a lone surrogate (\\u{ord(text[exc.start]):04x}), which is not text"
            ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")

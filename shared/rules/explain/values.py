"""Event values as an explanation may show them: a type and a short preview, never a whole payload.

Strings are cut to ``PREVIEW_CHARS`` characters; arrays and objects show their size only, so an
explanation never copies a nested payload (``attributes.Parameters`` can hold a mailbox's worth).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from shared.rules.language.fields import MISSING
from shared.rules.language.times import format_datetime

PREVIEW_CHARS: Final = 40


@dataclass(frozen=True, slots=True)
class ValuePreview:
    """``type`` is a JSON-ish type name (``string``, ``number``, ``missing``, ...); ``preview`` is short."""

    type: str
    preview: str

    def __str__(self) -> str:
        if self.type in ("missing", "null"):
            return self.type
        return f"{self.type} {self.preview}"

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "preview": self.preview}


def preview_value(value: Any) -> ValuePreview:
    """A redacted description of ``value``: its type and at most ``PREVIEW_CHARS`` characters of it."""
    if value is MISSING:
        return ValuePreview("missing", "")
    if value is None:
        return ValuePreview("null", "")
    if isinstance(value, bool):
        return ValuePreview("boolean", "true" if value else "false")
    if isinstance(value, int | float):
        return ValuePreview("number", _cut(repr(value)))
    if isinstance(value, str):
        return ValuePreview("string", _quoted(value))
    if isinstance(value, datetime):
        return ValuePreview("datetime", format_datetime(value))
    if isinstance(value, date):
        return ValuePreview("datetime", value.isoformat())
    if isinstance(value, timedelta):
        return ValuePreview("duration", str(value))
    if isinstance(value, list):
        return ValuePreview("array", f"[{len(value)} item{'' if len(value) == 1 else 's'}]")
    if isinstance(value, dict):
        return ValuePreview("object", f"{{{len(value)} key{'' if len(value) == 1 else 's'}}}")
    return ValuePreview(type(value).__name__, "")


def preview_literal(value: Any) -> str:
    """A rule's literal for display: short, JSON-like (lists of literals are shown item by item)."""
    if isinstance(value, list):
        shown = ", ".join(preview_literal(item) for item in value[:5])
        return f"[{shown}{', ...' if len(value) > 5 else ''}]"
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _cut(repr(value))


def _quoted(text: str) -> str:
    """``'text'`` as written; ``repr`` when it holds control characters (no terminal escapes shown)."""
    shown = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS]
    quoted = f"'{shown}'" if shown.isprintable() else repr(shown)
    return quoted if shown is text else f"{quoted}... ({len(text)} chars)"


def _cut(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "..."





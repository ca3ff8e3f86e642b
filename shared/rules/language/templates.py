"""Templates over event fields, as used in actions: ``"{entity}"``, ``"Tenant {tenant}"``.

A placeholder names a field path (see ``fields.py``); ``{{`` and ``}}`` are literal braces.
A value that is exactly one placeholder keeps the field's JSON type; mixed text renders as a string.
Datetimes render as ISO 8601 UTC with ``Z``. A missing or null field cannot be rendered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from string import Formatter
from typing import Any

from shared.events.models import Event
from shared.rules.language.fields import MISSING, FieldPath, compile_getter, parse_field_path
from shared.rules.language.times import format_datetime


class TemplateFieldMissing(LookupError):
    """The event has no value for a placeholder (the message names the field, never a value)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"template field {field!r} is missing or null")
        self.field = field


@dataclass(frozen=True, slots=True)
class Template:
    text: str
    parts: tuple[str | FieldPath, ...]

    @property
    def fields(self) -> tuple[FieldPath, ...]:
        return tuple(part for part in self.parts if isinstance(part, FieldPath))


def parse_template(text: str) -> Template:
    """Parse ``text``; raises ``ValueError`` for bad braces, format specs or field paths."""
    parts: list[str | FieldPath] = []
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"invalid template: {exc} (write {{{{ and }}}} for literal braces)") from None
    for literal, field_name, format_spec, conversion in parsed:
        if literal:
            parts.append(literal)
        if field_name is None:
            continue
        if format_spec or conversion:
            raise ValueError(f"invalid template: {{{field_name}}} cannot have a format spec or conversion")
        parts.append(parse_field_path(field_name))
    return Template(text, tuple(parts))


Renderer = Callable[[Event], Any]


@lru_cache(maxsize=4096)
def compile_template(text: str) -> Renderer:
    """A function rendering ``text`` for an event (cached: templates repeat across matches)."""
    template = parse_template(text)
    if not template.parts:
        return lambda event: ""
    if len(template.parts) == 1 and isinstance(template.parts[0], FieldPath):
        return _whole_value(template.parts[0])
    pieces = [_text_piece(part) for part in template.parts]
    return lambda event: "".join(piece(event) for piece in pieces)


def _whole_value(path: FieldPath) -> Renderer:
    getter = compile_getter(path)

    def render(event: Event) -> Any:
        value = getter(event)
        if value is MISSING or value is None:
            raise TemplateFieldMissing(path.text)
        return format_datetime(value) if isinstance(value, datetime) else value

    return render


def _text_piece(part: str | FieldPath) -> Callable[[Event], str]:
    if isinstance(part, str):
        return lambda event: part
    getter = compile_getter(part)

    def render(event: Event) -> str:
        value = getter(event)
        if value is MISSING or value is None:
            raise TemplateFieldMissing(part.text)
        return as_text(value)

    return render


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, bool | dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)



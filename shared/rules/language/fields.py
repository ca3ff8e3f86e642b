"""Field paths (``entity``, ``time``, ``attributes.UserKey``) and the getters compiled from them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final

from shared.events.models import Event


class _Missing:
    """The value of a field the event does not have (distinct from an explicit ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

#: Top-level event fields a rule may read, with the kind of value they hold.
TOP_LEVEL_FIELDS: Final[dict[str, str]] = {
    "id": "string",
    "source": "string",
    "type": "string",
    "time": "datetime",
    "entity": "string",
    "tenant": "string",
}
_ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_\-:@$#]+")
#: ``state.<rule id>[.<part>]``: what the entity's state says (read by shared/rules/state_fields.py).
STATE_TOP: Final = "state"
_STATE_PATH = re.compile(r"state\.([a-z0-9][a-z0-9_\-]*)(?:\.([a-z_]+))?")

Getter = Callable[[Event], Any]


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A parsed field path: a top-level field, or ``attributes`` followed by one or more keys."""

    text: str
    top: str
    keys: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``string``/``datetime`` for top-level fields, ``any`` for attributes."""
        return TOP_LEVEL_FIELDS.get(self.top, "any") if not self.keys else "any"


def parse_field_path(text: str) -> FieldPath:
    """Parse ``text`` or raise ``ValueError`` naming what is allowed."""
    if not isinstance(text, str) or not text:
        raise ValueError("a field path must be a non-empty string")
    top, *keys = text.split(".")
    if top in TOP_LEVEL_FIELDS and not keys:
        return FieldPath(text, top)
    if top == STATE_TOP:
        state = _STATE_PATH.fullmatch(text)
        if state is None:
            raise ValueError(f"invalid state field {text!r}: expected state.<rule id> or state.<rule id>.<part>")
        return FieldPath(text, top, tuple(key for key in state.groups() if key))
    if top == "attributes" and keys:
        bad = [key for key in keys if not _ATTRIBUTE_KEY.fullmatch(key)]
        if not bad:
            return FieldPath(text, top, tuple(keys))
        raise ValueError(f"invalid field path {text!r}: bad attribute key {bad[0]!r}")
    allowed = ", ".join(TOP_LEVEL_FIELDS)
    raise ValueError(f"invalid field path {text!r}: expected one of {allowed} or attributes.<key>[.<key>...]")


def compile_getter(path: FieldPath) -> Getter:
    """A function returning the field's value for an event, or ``MISSING``."""
    if path.top == STATE_TOP:
        raise ValueError(f"{path.text} is read from the entity's state, not from the event")
    if not path.keys:
        return attrgetter(path.top)
    if len(path.keys) == 1:
        key = path.keys[0]
        return lambda event: event.attributes.get(key, MISSING)
    keys = path.keys
    return lambda event: _descend(event.attributes, keys)


def _descend(value: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, MISSING)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return MISSING
    return value

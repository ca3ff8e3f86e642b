"""The small part of an event a deadline keeps, so a timer firing can render its action's templates.

An absence rule fires on time alone, long after the event that armed it. Its deadline stores the
event's identity (``id``, ``source``, ``type``, ``time``, ``entity``, ``tenant``) and only the
attributes the action's templates read — never the whole payload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.models import Event
from shared.rules.definitions.actions import ActionSpec, template_texts
from shared.rules.language.fields import MISSING, FieldPath, compile_getter
from shared.rules.language.templates import parse_template
from shared.rules.language.times import format_datetime

_IDENTITY = ("id", "source", "type", "entity", "tenant")


class EventSnapshotter:
    """Takes snapshots with the attributes one action's templates read."""

    def __init__(self, action: ActionSpec) -> None:
        paths = {
            field.keys
            for text in template_texts(action)
            for field in parse_template(text).fields
            if field.top == "attributes"
        }
        self._getters = [
            (keys, compile_getter(FieldPath(".".join(keys), "attributes", keys))) for keys in sorted(paths)
        ]

    def take(self, event: Event) -> dict[str, Any]:
        """A JSON dict with the event's identity and the attributes (missing ones left out)."""
        snapshot: dict[str, Any] = {name: getattr(event, name) for name in _IDENTITY}
        snapshot["time"] = format_datetime(event.time)
        attributes: dict[str, Any] = {}
        for keys, get in self._getters:
            value = get(event)
            if value is not MISSING:
                _put(attributes, keys, _json_value(value))
        snapshot["attributes"] = attributes
        return snapshot


def restore_event(snapshot: dict[str, Any]) -> Event:
    """The event a snapshot describes (raises pydantic's ``ValidationError`` when it is damaged)."""
    return Event.model_validate(snapshot)


def _json_value(value: Any) -> Any:
    """Datetimes (some normalizers keep them typed) as the ISO text templates render anyway."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


def _put(target: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    """Nested dicts along ``keys`` (a numeric key of an array becomes a dict key: templates read
    ``attributes.Contexts.0.Type`` either way)."""
    for key in keys[:-1]:
        child = target.get(key)
        if not isinstance(child, dict):
            child = target[key] = {}
        target = child
    target[keys[-1]] = value

"""How to normalize: which source format to expect and, for plain JSON, where the fields are."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from shared.settings import Settings

SourceOption = Literal["auto", "o365", "cloudevents", "eventgrid", "iothub", "json"]
SOURCE_OPTIONS: tuple[str, ...] = get_args(SourceOption)

#: Canonical fields a plain-JSON field map must name, and the one it may name.
REQUIRED_MAPPED_FIELDS = ("id", "type", "time", "entity")
OPTIONAL_MAPPED_FIELDS = ("tenant",)


@dataclass(frozen=True, slots=True, kw_only=True)
class NormalizeOptions:
    """``source`` forces a format ("auto" detects it per record); ``json_field_map`` maps canonical
    fields to dotted source paths for plain JSON, e.g. ``{"id": "eventId", "entity": "user.id", ...}``.

    Invalid options raise ``ValueError`` here, at configuration time, never per event.
    """

    source: SourceOption = "auto"
    json_field_map: Mapping[str, str] | None = None
    json_paths: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.source not in SOURCE_OPTIONS:
            raise ValueError(f"source must be one of {', '.join(SOURCE_OPTIONS)}; got {self.source!r}")
        paths = {} if self.json_field_map is None else compile_json_field_map(self.json_field_map)
        object.__setattr__(self, "json_paths", paths)

    @classmethod
    def from_settings(cls, settings: Settings) -> NormalizeOptions:
        """Options from SQUALL_EVENT_FORMAT and SQUALL_JSON_FIELD_MAP."""
        field_map = None if not settings.json_field_map else parse_json_field_map(settings.json_field_map)
        return cls(source=settings.event_format, json_field_map=field_map)


def parse_json_field_map(text: str) -> dict[str, str]:
    """The SQUALL_JSON_FIELD_MAP text (a JSON object) as a mapping; ``ValueError`` saying what is wrong."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"SQUALL_JSON_FIELD_MAP is not valid JSON: {exc.msg} at char {exc.pos}") from None
    if not isinstance(value, dict):
        raise ValueError("SQUALL_JSON_FIELD_MAP must be a JSON object mapping canonical fields to source paths")
    compile_json_field_map(value)
    return value


def compile_json_field_map(field_map: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Validate a field map and split each dotted path once, so per-event lookups are plain indexing."""
    missing = [name for name in REQUIRED_MAPPED_FIELDS if name not in field_map]
    if missing:
        raise ValueError(f"json field map must name {', '.join(missing)} (required: id, type, time, entity)")
    allowed = REQUIRED_MAPPED_FIELDS + OPTIONAL_MAPPED_FIELDS
    unknown = sorted(name for name in field_map if name not in allowed)
    if unknown:
        raise ValueError(f"json field map names unknown canonical fields: {', '.join(unknown)}")
    compiled: dict[str, tuple[str, ...]] = {}
    for name, path in field_map.items():
        parts = tuple(path.split(".")) if isinstance(path, str) else ()
        if not parts or not all(parts):
            raise ValueError(f"json field map: path for {name!r} must be a dotted field path like 'user.id'")
        compiled[name] = parts
    return compiled

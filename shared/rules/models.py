"""Rule definitions as users write them (YAML/JSON), validated by pydantic.

Every model forbids unknown fields and is strict about types; literals are checked against their
operator here, so a rule that validates always compiles.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.events.models import EventSource
from shared.rules.durations import parse_positive_duration
from shared.rules.fields import parse_field_path
from shared.rules.operators import EXISTS_DEFAULT, lookup_operator
from shared.rules.templates import parse_template

RULE_ID_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*$"
MAX_CONDITION_DEPTH = 32
_TYPE_PATTERN = re.compile(r"[^*]+\*?|\*")
_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True)


class FieldCondition(BaseModel):
    """A leaf: ``{field: attributes.result_status, op: eq, value: succeeded}``."""

    model_config = _CONFIG

    field: str
    op: str
    value: Any = None
    value_field: str | None = None

    @field_validator("field", "value_field")
    @classmethod
    def _field_path(cls, text: str | None) -> str | None:
        if text is not None:
            parse_field_path(text)
        return text

    @field_validator("op")
    @classmethod
    def _known_operator(cls, name: str) -> str:
        lookup_operator(name)
        return name

    @field_validator("value")
    @classmethod
    def _value_fits_operator(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            raise ValueError("value must not be null; to test absence write op: exists, value: false")
        if "op" in info.data:  # else the op itself is reported
            field_kind = parse_field_path(info.data["field"]).kind if "field" in info.data else "any"
            operator = lookup_operator(info.data["op"])
            operator.compile_value(operator.name, value, field_kind)
        return value

    @model_validator(mode="after")
    def _one_operand(self) -> FieldCondition:
        operator = lookup_operator(self.op)
        has_value = "value" in self.model_fields_set
        if has_value and self.value_field is not None:
            raise ValueError("give either value or value_field, not both")
        if self.value_field is not None and operator.compile_pair is None:
            raise ValueError(f"{self.op} cannot compare two fields; use a literal value")
        if not has_value and self.value_field is None and not operator.tests_presence:
            raise ValueError(f"{self.op} needs a value (or value_field)")
        return self

    @property
    def operand(self) -> Any:
        """The literal, with ``exists``' default applied."""
        if "value" not in self.model_fields_set and lookup_operator(self.op).tests_presence:
            return EXISTS_DEFAULT
        return self.value


class AllCondition(BaseModel):
    model_config = _CONFIG
    all: list[Condition] = Field(min_length=1)


class AnyCondition(BaseModel):
    model_config = _CONFIG
    any: list[Condition] = Field(min_length=1)


class NotCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=False)
    not_: Condition = Field(alias="not")


_SHAPES = ("all", "any", "not", "field")


def _condition_shape(raw: Any) -> str | None:
    if isinstance(raw, BaseModel):
        return {AllCondition: "<all>", AnyCondition: "<any>", NotCondition: "<not>"}.get(type(raw), "<field>")
    if not isinstance(raw, dict):
        return None
    present = [shape for shape in _SHAPES if shape in raw]
    return f"<{present[0]}>" if len(present) == 1 else None


# Tags are written <like-this> so error paths can drop them (see validation.py).
Condition = Annotated[
    Annotated[AllCondition, Tag("<all>")]
    | Annotated[AnyCondition, Tag("<any>")]
    | Annotated[NotCondition, Tag("<not>")]
    | Annotated[FieldCondition, Tag("<field>")],
    Discriminator(
        _condition_shape,
        custom_error_type="condition_shape",
        custom_error_message="a condition must be a mapping with exactly one of: all, any, not, field",
    ),
]
AllCondition.model_rebuild()
AnyCondition.model_rebuild()
NotCondition.model_rebuild()


class When(BaseModel):
    """Cheap index keys: an event must have this source and one of these types to be a candidate."""

    model_config = _CONFIG

    source: EventSource | None = None
    types: list[str] | None = Field(default=None, min_length=1)

    @field_validator("types")
    @classmethod
    def _type_patterns(cls, types: list[str] | None) -> list[str] | None:
        for pattern in types or ():
            if not _TYPE_PATTERN.fullmatch(pattern):
                raise ValueError(
                    f"invalid type pattern {pattern!r}: an exact type, a prefix ending in '*', or '*'"
                )
        return types


def _check_template(text: str) -> str:
    parse_template(text)
    return text


def _check_data_templates(value: Any) -> Any:
    if isinstance(value, str):
        parse_template(value)
    elif isinstance(value, list):
        for item in value:
            _check_data_templates(item)
    elif isinstance(value, dict):
        for item in value.values():
            _check_data_templates(item)
    return value


class JourneyEntryAction(BaseModel):
    """Enter the contact into a Marketing Cloud journey (``/interaction/v1/events``)."""

    model_config = _CONFIG

    kind: Literal["journey_entry"]
    event_definition_key: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_\-.]+$")
    contact_key: Annotated[str, BeforeValidator(_check_template)] = "{entity}"
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data")
    @classmethod
    def _data_templates(cls, data: dict[str, Any]) -> dict[str, Any]:
        for key, value in data.items():
            if not key:
                raise ValueError("data keys must not be empty")
            try:
                _check_data_templates(value)
            except ValueError as exc:
                raise ValueError(f"data.{key}: {exc}") from None
        return data


ActionSpec = JourneyEntryAction  # a union discriminated by ``kind`` once webhooks arrive


def _duration(value: Any) -> Any:
    return parse_positive_duration(value) if isinstance(value, str) else value


class RuleDefinition(BaseModel):
    """One trigger rule. ``priority``: higher first; ties broken by ``id``."""

    model_config = _CONFIG

    id: str = Field(min_length=1, max_length=128, pattern=RULE_ID_PATTERN)
    description: str = ""
    enabled: bool = True
    priority: int = 0
    when: When = Field(default_factory=When)
    condition: Condition | None = None
    cooldown: Annotated[timedelta | None, BeforeValidator(_duration)] = None
    stop_after_match: bool = False
    action: ActionSpec

    @model_validator(mode="before")
    @classmethod
    def _shallow_enough(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and condition_depth(raw.get("condition")) > MAX_CONDITION_DEPTH:
            raise ValueError(f"condition is nested deeper than {MAX_CONDITION_DEPTH} levels")
        return raw

    @property
    def is_stateful(self) -> bool:
        """Whether evaluating the rule reads or writes entity state."""
        return self.cooldown is not None


def condition_depth(raw: Any) -> int:
    """Nesting depth of a raw condition tree, computed without recursion."""
    deepest, stack = 0, [(raw, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        deepest = max(deepest, depth)
        for key in ("all", "any"):
            if isinstance(node.get(key), list):
                stack.extend((child, depth + 1) for child in node[key])
        if "not" in node:
            stack.append((node["not"], depth + 1))
    return deepest

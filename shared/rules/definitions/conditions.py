"""Conditions and event filters as rules write them: ``all``/``any``/``not`` trees of field leaves.

A leaf reads an event field (``attributes.result_status``) or, in a rule set with stateful rules,
what the entity's state says (``state.lifecycle``: see ``state_fields.py``). Every model forbids
unknown fields and is strict about types; literals are checked against their operator here.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.events.models import EventSource
from shared.rules.language.fields import parse_field_path
from shared.rules.language.operators import EXISTS_DEFAULT, lookup_operator

MAX_CONDITION_DEPTH = 32
_TYPE_PATTERN = re.compile(r"[^*]+\*?|\*")
CONFIG = ConfigDict(extra="forbid", frozen=True, strict=True)


class FieldCondition(BaseModel):
    """A leaf: ``{field: attributes.result_status, op: eq, value: succeeded}``."""

    model_config = CONFIG

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
    model_config = CONFIG
    all: list[Condition] = Field(min_length=1)


class AnyCondition(BaseModel):
    model_config = CONFIG
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


def check_type_patterns(types: list[str] | None) -> list[str] | None:
    for pattern in types or ():
        if not _TYPE_PATTERN.fullmatch(pattern):
            raise ValueError(f"invalid type pattern {pattern!r}: an exact type, a prefix ending in '*', or '*'")
    return types


class When(BaseModel):
    """Cheap index keys: an event must have this source and one of these types to be a candidate."""

    model_config = CONFIG

    source: EventSource | None = None
    types: list[str] | None = Field(default=None, min_length=1)

    @field_validator("types")
    @classmethod
    def _type_patterns(cls, types: list[str] | None) -> list[str] | None:
        return check_type_patterns(types)


class EventFilter(When):
    """Which events a step of a stateful rule takes: ``{types: [...], source: ..., condition: ...}``.

    Used by sequence steps, absence ``after``/``missing`` and machine transitions; an empty filter
    takes every event the rule sees.
    """

    condition: Condition | None = None

    @model_validator(mode="before")
    @classmethod
    def _shallow_enough(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and condition_depth(raw.get("condition")) > MAX_CONDITION_DEPTH:
            raise ValueError(f"condition is nested deeper than {MAX_CONDITION_DEPTH} levels")
        return raw


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


def condition_leaves(condition: Condition | None, path: str) -> list[tuple[str, FieldCondition]]:
    """Every leaf of ``condition`` with its JSON path (``$.condition.all[1]``), in order."""
    found: list[tuple[str, FieldCondition]] = []
    stack: list[tuple[str, Condition]] = [(path, condition)] if condition is not None else []
    while stack:
        where, node = stack.pop()
        if isinstance(node, AllCondition | AnyCondition):
            key = "all" if isinstance(node, AllCondition) else "any"
            children = node.all if isinstance(node, AllCondition) else node.any
            stack.extend((f"{where}.{key}[{i}]", child) for i, child in reversed(list(enumerate(children))))
        elif isinstance(node, NotCondition):
            stack.append((f"{where}.not", node.not_))
        else:
            found.append((where, node))
    return found

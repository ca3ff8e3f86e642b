"""Actions a rule (or an entity state's ``on_enter``) plans, with templates over event fields."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_validator

from shared.rules.definitions.conditions import CONFIG
from shared.rules.language.fields import STATE_TOP
from shared.rules.language.templates import parse_template


def _check_template(text: str) -> str:
    template = parse_template(text)
    for path in template.fields:
        if path.top == STATE_TOP:
            raise ValueError(f"templates read event fields; {{{path.text}}} is entity state")
    return text


def _check_data_templates(value: Any) -> Any:
    if isinstance(value, str):
        _check_template(value)
    elif isinstance(value, list):
        for item in value:
            _check_data_templates(item)
    elif isinstance(value, dict):
        for item in value.values():
            _check_data_templates(item)
    return value


class JourneyEntryAction(BaseModel):
    """Enter the contact into a Marketing Cloud journey (``/interaction/v1/events``)."""

    model_config = CONFIG

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


def template_texts(action: ActionSpec) -> list[str]:
    """Every template string of ``action`` (contact key and data, nested values included)."""
    texts = [action.contact_key]
    stack: list[Any] = list(action.data.values())
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
    return texts

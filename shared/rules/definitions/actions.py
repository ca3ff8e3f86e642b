"""Actions a rule (or an entity state's ``on_enter``) plans, with templates over event fields.

A tagged union on ``kind``, each kind to a named ``destination``:

- ``journey_entry``: enter the contact into a Marketing Cloud journey (destination ``sfmc``);
- ``data_extension_row``: upsert one row by primary key into a Marketing Cloud data extension;
- ``webhook``: a signed JSON POST to a destination named in ``SQUALL_WEBHOOKS``;
- ``eventbridge``: an Amazon EventBridge event to a destination named in ``SQUALL_EVENTBRIDGE``.

A rule written without ``kind`` is a journey entry (rules from before the other kinds). Whether a
destination name is configured is checked against the deployment's settings by
``authoring/destinations.py``; the models check only its form.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, field_validator

from shared.rules.definitions.conditions import CONFIG
from shared.rules.language.fields import STATE_TOP
from shared.rules.language.templates import parse_template

#: Where Marketing Cloud actions go unless they name another destination.
SFMC_DESTINATION: Final = "sfmc"
#: The action kinds, each the tag of one model below.
ACTION_KINDS: Final = ("journey_entry", "data_extension_row", "webhook", "eventbridge")
#: A destination name (also the form of names in ``SQUALL_WEBHOOKS`` / ``SQUALL_EVENTBRIDGE``).
DESTINATION_NAME = r"^[A-Za-z0-9_.\-]+$"
_KEY_PATTERN = r"^[A-Za-z0-9_\-.]+$"


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


def _check_mapping(data: dict[str, Any]) -> dict[str, Any]:
    for key, value in data.items():
        if not key:
            raise ValueError("keys must not be empty")
        try:
            _check_data_templates(value)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
    return data


def _templates_in(mapping: dict[str, Any], field: str) -> dict[str, Any]:
    """``mapping``'s templates checked; an error names the field's key (``data.Score: ...``)."""
    try:
        return _check_mapping(mapping)
    except ValueError as exc:
        raise ValueError(f"{field}.{exc}") from None


#: Checked after the type: a value that is not text is "Input should be a valid string", never handed
#: to the parser (``string.Formatter`` raises TypeError for it: a 500 from the rules API once).
Template = Annotated[str, AfterValidator(_check_template)]
Destination = Annotated[str, Field(min_length=1, max_length=64, pattern=DESTINATION_NAME)]


class _TemplatedAction(BaseModel):
    """What every kind has: the contact it is about and a payload of templates."""

    model_config = CONFIG

    contact_key: Template = "{entity}"
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("data")
    @classmethod
    def _data_templates(cls, data: dict[str, Any]) -> dict[str, Any]:
        return _templates_in(data, "data")


class JourneyEntryAction(_TemplatedAction):
    """Enter the contact into a Marketing Cloud journey (``/interaction/v1/events`` or the async form)."""

    kind: Literal["journey_entry"] = "journey_entry"
    destination: Destination = SFMC_DESTINATION
    event_definition_key: str = Field(min_length=1, max_length=200, pattern=_KEY_PATTERN)


class DataExtensionRowAction(_TemplatedAction):
    """Upsert a row into a data extension by primary key (``/hub/v1/dataevents/key:{key}/rowset``):
    ``row_keys`` are the primary-key columns, ``data`` the other columns."""

    kind: Literal["data_extension_row"]
    destination: Destination = SFMC_DESTINATION
    data_extension_key: str = Field(min_length=1, max_length=200, pattern=_KEY_PATTERN)
    row_keys: dict[str, Any] = Field(min_length=1)

    @field_validator("row_keys")
    @classmethod
    def _row_key_templates(cls, row_keys: dict[str, Any]) -> dict[str, Any]:
        return _templates_in(row_keys, "row_keys")


class WebhookAction(_TemplatedAction):
    """A signed JSON POST to the webhook named ``destination`` (``SQUALL_WEBHOOKS``)."""

    kind: Literal["webhook"]
    destination: Destination


class EventBridgeAction(_TemplatedAction):
    """An event on the EventBridge bus named ``destination`` (``SQUALL_EVENTBRIDGE``), with
    ``detail_type`` as its ``DetailType``; ``data`` travels in its ``Detail``."""

    kind: Literal["eventbridge"]
    destination: Destination
    detail_type: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]+$")


def _default_kind(value: Any) -> Any:
    """A rule written before the other kinds existed has no ``kind``: it is a journey entry."""
    if isinstance(value, dict) and "kind" not in value:
        return {**value, "kind": "journey_entry"}
    return value


AnyAction = JourneyEntryAction | DataExtensionRowAction | WebhookAction | EventBridgeAction
ActionSpec = Annotated[Annotated[AnyAction, Field(discriminator="kind")], BeforeValidator(_default_kind)]


def template_texts(action: ActionSpec) -> list[str]:
    """Every template string of ``action`` (contact key, data and row keys, nested values included)."""
    texts = [action.contact_key]
    stack: list[Any] = list(action.data.values())
    if isinstance(action, DataExtensionRowAction):
        stack.extend(action.row_keys.values())
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
    return texts

"""EventBridge destinations: named in ``SQUALL_EVENTBRIDGE`` (JSON, no secrets). Credentials come
from the standard AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, web
identity, instance role), never from this setting.

``SQUALL_EVENTBRIDGE={"aws": {"event_bus_name": "marketing", "source": "com.example.squall",
"region": "eu-west-1"}}``
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator

from shared.actions.errors import EventBridgeConfigError
from shared.actions.tuning import DeliveryTuning
from shared.settings import Settings

#: Names the router reserves for other destinations.
RESERVED_NAMES = frozenset({"sfmc"})
#: Keys of a destination that would carry a credential: refused (the AWS chain supplies them).
_CREDENTIAL_KEYS = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "secret"})


class EventBridgeDestination(DeliveryTuning):
    """One event bus, the ``Source`` Squall's events carry there, and how hard to try it."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    event_bus_name: str = Field(default="default", min_length=1, max_length=1600)
    source: str = Field(min_length=1, max_length=256)
    region: str | None = Field(default=None, pattern=r"^[a-z0-9-]+$")
    endpoint_url: str | None = None  # a VPC endpoint or a local emulator; unset: AWS's own
    max_concurrency: int = Field(default=4, ge=1, le=64)  # PutEvents calls at once per bus

    @field_validator("source")
    @classmethod
    def _not_aws(cls, value: str) -> str:
        if value.startswith("aws."):
            raise ValueError("sources starting with 'aws.' are reserved for AWS services")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
                raise ValueError("must be an http(s) URL without credentials")
        return value


def eventbridge_from_settings(settings: Settings) -> dict[str, EventBridgeDestination]:
    """The configured buses by name; {} when ``SQUALL_EVENTBRIDGE`` is unset or empty."""
    specs = eventbridge_specs(settings)
    destinations = {}
    for name, spec in specs.items():
        if not isinstance(spec, dict):
            raise EventBridgeConfigError(f"SQUALL_EVENTBRIDGE[{name!r}] must be an object with at least a source")
        if _CREDENTIAL_KEYS & {key.lower() for key in spec}:
            raise EventBridgeConfigError(
                f"SQUALL_EVENTBRIDGE[{name!r}]: no credentials here; the standard AWS credential chain supplies them"
            )
        try:
            destinations[name] = EventBridgeDestination(name=name, **spec)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise EventBridgeConfigError(f"SQUALL_EVENTBRIDGE[{name!r}] is invalid: {problems}") from None
    return destinations


def eventbridge_specs(settings: Settings) -> dict[str, Any]:
    """The raw destinations by name (no validation of their options): what rule validation needs."""
    if not settings.eventbridge:
        return {}
    try:
        value = json.loads(settings.eventbridge)
    except json.JSONDecodeError as exc:
        raise EventBridgeConfigError(
            f"SQUALL_EVENTBRIDGE is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(value, dict):
        raise EventBridgeConfigError("SQUALL_EVENTBRIDGE must be a JSON object keyed by destination name")
    for name in value:
        if name in RESERVED_NAMES:
            raise EventBridgeConfigError(f"SQUALL_EVENTBRIDGE: the name {name!r} is reserved")
    return value

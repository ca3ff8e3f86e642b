"""Webhook destinations: named in ``SQUALL_WEBHOOKS`` (JSON, no secrets), signed with secrets from
``SQUALL_WEBHOOK_SECRETS`` (JSON, a Key Vault reference in Azure). Actions name a destination;
URLs never come from event data.

``SQUALL_WEBHOOKS={"crm": {"url": "https://hooks.example.com/squall", "timeout_s": 5}}``
``SQUALL_WEBHOOK_SECRETS={"crm": "<at least 16 characters>"}``
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator

from shared.actions.errors import WebhookConfigError
from shared.actions.tuning import DeliveryTuning
from shared.settings import Settings

#: Names the router reserves for other destinations.
RESERVED_NAMES = frozenset({"sfmc"})


class WebhookDestination(DeliveryTuning):
    """One signed webhook target and how hard to try it."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    url: str
    secret: SecretStr
    allow_private: bool = False  # allow private, loopback and link-local targets (tests, intranets)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://hooks.example.com/squall")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; the signature authenticates Squall")
        return value

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("signing secret must be at least 16 characters")
        return value


def webhooks_from_settings(settings: Settings) -> dict[str, WebhookDestination]:
    """The configured destinations by name; {} when ``SQUALL_WEBHOOKS`` is unset."""
    if not settings.webhooks:
        return {}
    specs = _json_object(settings.webhooks, "SQUALL_WEBHOOKS")
    raw_secrets = settings.webhook_secrets.get_secret_value() if settings.webhook_secrets else "{}"
    secrets = _json_object(raw_secrets, "SQUALL_WEBHOOK_SECRETS", show_error=False)
    destinations = {}
    for name, spec in specs.items():
        if name in RESERVED_NAMES:
            raise WebhookConfigError(f"SQUALL_WEBHOOKS: the name {name!r} is reserved")
        if not isinstance(spec, dict):
            raise WebhookConfigError(f"SQUALL_WEBHOOKS[{name!r}] must be an object with at least a url")
        if "secret" in spec:
            raise WebhookConfigError(f"SQUALL_WEBHOOKS[{name!r}]: put the secret in SQUALL_WEBHOOK_SECRETS")
        if not secrets.get(name):
            raise WebhookConfigError(f"webhook {name!r} has no signing secret: add it to SQUALL_WEBHOOK_SECRETS")
        try:
            destinations[name] = WebhookDestination(name=name, secret=secrets[name], **spec)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise WebhookConfigError(f"SQUALL_WEBHOOKS[{name!r}] is invalid: {problems}") from None
    return destinations


def _json_object(text: str, setting: str, *, show_error: bool = True) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        detail = f": {exc.msg} at line {exc.lineno} column {exc.colno}" if show_error else ""
        raise WebhookConfigError(f"{setting} is not valid JSON{detail}") from None
    if not isinstance(value, dict):
        raise WebhookConfigError(f"{setting} must be a JSON object keyed by webhook name")
    return value

"""Which destination names the settings configure, per action kind: what rule validation checks
an action's ``destination`` against (``shared.rules.DestinationCatalog``).

Marketing Cloud is always ``sfmc``. Webhook and EventBridge names come from the keys of
``SQUALL_WEBHOOKS`` and ``SQUALL_EVENTBRIDGE`` (no secrets are read). A setting that is not set
at all gives ``None`` — not checked — so a shell without the deployment's settings can still
validate rule files; a deployment sets both (possibly empty), and then every name is checked.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from shared.actions.errors import WebhookConfigError
from shared.actions.eventbridge.config import eventbridge_specs
from shared.actions.models import DEFAULT_DESTINATION, ActionKind
from shared.settings import Settings


def destination_catalog(settings: Settings) -> dict[str, Collection[str] | None]:
    """Action kind -> configured destination names (``None``: the setting is not set here)."""
    webhooks = None if settings.webhooks is None else _webhook_names(settings.webhooks)
    buses = None if settings.eventbridge is None else frozenset(eventbridge_specs(settings))
    return {
        ActionKind.JOURNEY_ENTRY.value: frozenset({DEFAULT_DESTINATION}),
        ActionKind.DATA_EXTENSION_ROW.value: frozenset({DEFAULT_DESTINATION}),
        ActionKind.WEBHOOK.value: webhooks,
        ActionKind.EVENTBRIDGE.value: buses,
    }


def _webhook_names(text: str) -> frozenset[str]:
    if not text.strip():
        return frozenset()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WebhookConfigError(f"SQUALL_WEBHOOKS is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise WebhookConfigError("SQUALL_WEBHOOKS must be a JSON object keyed by webhook name")
    return frozenset(value)
